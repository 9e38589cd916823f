/**
 * APPEND (RFC 9051 6.3.12, APPENDUID of RFC 4315 3): not a dispatched command, as its message
 * literal is streamed from the framer's `literal-data` events into Mailbox.append instead of
 * being read whole, each piece handed on only once the store has taken the previous ones. The
 * size is checked before the client is told to send (`+`); a client that goes away mid-literal
 * (or sends something after it that is not the command's end) leaves nothing stored: the store's
 * write is aborted and its tmp/ file removed.
 */
import { PassThrough } from 'node:stream';
import { NotFound } from '../../../core/errors.js';
import type { CommandContext } from '../command.js';
import type { FramerEvent } from '../framer.js';
import type { FramedInput } from '../input.js';
import { parseAppendHead } from '../parser.js';
import { bad, errorReply, formatTagged, no, ok, type Reply } from '../replies.js';

export type AppendEvent = Extract<FramerEvent, { type: 'append' }>;

const CHUNK = 64 * 1024;

/** Handles one APPEND; false when the connection must close (the client went away or cannot be followed). */
export async function appendMessage(ctx: CommandContext, ev: AppendEvent, input: FramedInput): Promise<boolean> {
  const { session } = ctx;
  const parsed = parseAppendHead(ev.head, { utf8Accept: session.utf8 });
  let refusal: Reply | undefined;
  if (!parsed.ok) refusal = bad(parsed.message);
  else if (session.state !== 'authenticated' && session.state !== 'selected') refusal = bad('Command not allowed before login.');
  else if (ev.size > ctx.services.maxAppendSize) refusal = no('Mail too big', 'TOOBIG');
  else if (ev.size === 0) refusal = no('Can\'t save a zero byte message.');
  if (refusal || !parsed.ok) return refuse(ctx, ev, input, refusal!);
  const head = parsed.head;
  if (!ev.nonSync) {
    session.out.write('+ OK\r\n');
    input.accept();
  }
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
  for (;;) {
    const e = await input.next();
    if (e?.type === 'literal-data') {
      if (failure === undefined && !body.write(e.data)) await Promise.race([new Promise((r) => body.once('drain', r)), stored]);
      continue;
    }
    if (e?.type === 'append-end') break;
    // Gone, or the literal was not followed by the command's end (RFC 9051 6.3.12).
    body.destroy(new Error('APPEND cut off'));
    await stored;
    if (e?.type !== 'error' || e.fatal) {
      if (e?.type === 'error') session.out.write(`* BYE ${e.message}\r\n`);
      return false;
    }
    session.out.write(formatTagged(ctx.tag, bad(e.message)));
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

/**
 * A synchronizing literal is never sent (the client had no `+`); a LITERAL+ one is on its way
 * (RFC 7888 4) and is read and dropped before the answer.
 */
async function refuse(ctx: CommandContext, ev: AppendEvent, input: FramedInput, reply: Reply): Promise<boolean> {
  if (!ev.nonSync) {
    input.refuse();
    ctx.session.out.write(formatTagged(ctx.tag, reply));
    return true;
  }
  for (;;) {
    const e = await input.next();
    if (e?.type === 'literal-data') continue;
    if (e === null) return false;
    if (e.type === 'error' && e.fatal) {
      ctx.session.out.write(`* BYE ${e.message}\r\n`);
      return false;
    }
    // The command's end, or garbage after the literal: either way this command is answered.
    ctx.session.out.write(formatTagged(ctx.tag, reply));
    return true;
  }
}
