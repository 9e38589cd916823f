/**
 * APPEND (RFC 9051 6.3.12, APPENDUID of RFC 4315 3): not a dispatched command, as its message
 * literal is streamed from the socket into Mailbox.append instead of being read whole. The size
 * is checked before the client is told to send (`+`); a client that goes away mid-literal (or
 * sends something after it that is not the command's end) leaves nothing stored: the store's
 * write is aborted and its tmp/ file removed.
 */
import { PassThrough } from 'node:stream';
import { NotFound } from '../../../core/errors.js';
import type { CommandContext } from '../command.js';
import type { ReadResult } from '../command-reader.js';
import type { SocketInput } from '../input.js';
import { bad, errorReply, formatTagged, no, ok, type Reply } from '../replies.js';

type AppendRead = Extract<ReadResult, { kind: 'append' | 'append-bad' }>;

const CHUNK = 64 * 1024;

/** Handles one APPEND; false when the connection must close (the client went away or cannot be followed). */
export async function appendMessage(ctx: CommandContext, read: AppendRead, input: SocketInput): Promise<boolean> {
  const { session } = ctx;
  const literal = read.kind === 'append' ? read.head.literal : read.literal;
  const refuse = async (reply: Reply): Promise<boolean> => {
    // A synchronizing literal was never sent; a LITERAL+ one is on its way and is skipped.
    if (literal.nonSync) {
      if (literal.size > ctx.services.maxAppendSize * 2 + CHUNK) {
        session.out.write(`* BYE Too long argument.\r\n`);
        return false;
      }
      if (!(await skip(input, literal.size))) return false;
      await input.line(1024);
    }
    session.out.write(formatTagged(ctx.tag, reply));
    return true;
  };
  if (read.kind === 'append-bad') return refuse(bad(read.message));
  if (session.state !== 'authenticated' && session.state !== 'selected') return refuse(bad('Command not allowed before login.'));
  const head = read.head;
  if (literal.size > ctx.services.maxAppendSize) return refuse(no('Mail too big', 'TOOBIG'));
  if (literal.size === 0) return refuse(no('Can\'t save a zero byte message.'));
  if (!literal.nonSync) session.out.write('+ OK\r\n');
  const body = new PassThrough({ highWaterMark: CHUNK });
  // Aborting (destroy with an error) must never become an unhandled 'error' event, whatever the
  // store's reader has done with the stream by then: the store learns of it from its own read.
  body.on('error', () => {});
  const flags = head.flags.filter((f) => f.toLowerCase() !== '\\recent');
  let failure: unknown;
  const stored = session.mailbox!.append(head.mailbox, body, { flags, ...(head.date ? { internalDate: head.date } : {}) })
    .catch((err: unknown) => {
      failure = err;
      return null;
    });
  let remaining = literal.size;
  while (remaining > 0) {
    const chunk = await input.some(Math.min(remaining, CHUNK));
    if (chunk === null) {
      body.destroy(new Error('client went away mid-APPEND'));
      await stored;
      return false;
    }
    remaining -= chunk.length;
    if (failure === undefined && !body.write(chunk)) {
      await Promise.race([new Promise((r) => body.once('drain', r)), stored]);
    }
  }
  const rest = await input.line(8192);
  if (rest === null || !Buffer.isBuffer(rest) || rest.toString('latin1').trim() !== '') {
    body.destroy(new Error('APPEND not ended by CRLF'));
    await stored;
    if (rest === null) return false;
    session.out.write(formatTagged(ctx.tag, bad('Error in IMAP command APPEND: Invalid arguments.')));
    return true;
  }
  body.end();
  const result = await stored;
  let reply: Reply;
  if (result) reply = ok('Append completed.', `APPENDUID ${result.uidValidity} ${result.uid}`);
  else if (failure instanceof NotFound) reply = no(`Mailbox doesn't exist: ${head.mailbox}`, 'TRYCREATE');
  else reply = errorReply(failure, ctx.log, head.mailbox);
  if (session.selected) await session.reportChanges().catch(() => {});
  session.out.write(formatTagged(ctx.tag, reply));
  return true;
}

async function skip(input: SocketInput, n: number): Promise<boolean> {
  let left = n;
  while (left > 0) {
    const c = await input.some(Math.min(left, CHUNK));
    if (c === null) return false;
    left -= c.length;
  }
  return true;
}
