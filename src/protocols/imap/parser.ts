/**
 * parseCommand: the bytes of one command frame (framer.ts) → a typed Command or the reason it
 * is not one. Pure; never throws. Reasons read like Dovecot's (`Error in IMAP command NAME:
 * reason`) and become `tag BAD <message>` (or `* BAD` without a valid tag) in the session.
 */
import { readFetchArgs } from './fetch-parse.js';
import { readFlagList, readStoreFlags } from './flags.js';
import { readListArgs, readLsubArgs } from './list-parse.js';
import { mailboxName } from './mailbox-name.js';
import { ParseError, Reader, isValidTag } from './reader.js';
import { readSearchArgs } from './search-parse.js';
import { readSequenceSet } from './sequence-parse.js';
import { parseDateTime } from './datetime.js';
import type { AppendHead, Command, ParseResult, StatusItem, StoreMode } from './types.js';

export interface ParseOptions {
  /** RFC 6855: after ENABLE UTF8=ACCEPT mailbox names are UTF-8, not modified UTF-7. */
  utf8Accept: boolean;
}

export type AppendHeadResult = { ok: true; head: AppendHead } | { ok: false; tag?: string; message: string };

/** Command names: letters, plus the "-"/digits some extensions use. */
function isNameChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f;
}

const NO_ARGS = new Set(['CAPABILITY', 'NOOP', 'LOGOUT', 'STARTTLS', 'NAMESPACE', 'IDLE', 'CHECK', 'CLOSE', 'UNSELECT', 'EXPUNGE']);

const STATUS_ITEMS = new Set<StatusItem>(['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'HIGHESTMODSEQ', 'SIZE', 'DELETED']);

interface Head {
  tag: string;
  /** Upper case; `UID FETCH` etc. for UID commands. */
  name: string;
}

/** `tag SP command-name`; throws with `tag` known when possible. */
function readHead(r: Reader, state: { tag?: string; name?: string }): Head {
  const tag = r.word((c) => c !== 0x20);
  if (!isValidTag(tag)) throw new ParseError('Invalid tag');
  state.tag = tag;
  if (r.atEnd()) throw new ParseError('Missing command name');
  r.pos++;
  let name = r.word(isNameChar).toUpperCase();
  if (name === '' || (!r.atEnd() && r.peek() !== 0x20)) throw new ParseError('Invalid command name');
  if (name === 'UID') {
    state.name = name;
    r.sp();
    const sub = r.word(isNameChar).toUpperCase();
    if (sub === '' || (!r.atEnd() && r.peek() !== 0x20)) throw new ParseError('Invalid command name');
    name = `UID ${sub}`;
  }
  state.name = name;
  return { tag, name };
}

function message(state: { name?: string }, reason: string): string {
  return state.name ? `Error in IMAP command ${state.name}: ${reason}` : `Error in IMAP command: ${reason}`;
}

export function parseCommand(frame: Buffer, opts: ParseOptions): ParseResult {
  const state: { tag?: string; name?: string } = {};
  try {
    const r = new Reader(frame);
    const { tag, name } = readHead(r, state);
    return { ok: true, tag, command: readCommand(r, name, opts.utf8Accept) };
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    const out: ParseResult = { ok: false, message: message(state, err.message) };
    if (state.tag !== undefined) out.tag = state.tag;
    return out;
  }
}

function mailbox(r: Reader, utf8: boolean): string {
  r.sp();
  return mailboxName(r.astring('mailbox'), utf8);
}

function readCommand(r: Reader, name: string, utf8: boolean): Command {
  if (NO_ARGS.has(name)) {
    r.finish();
    return { name } as Command;
  }
  switch (name) {
    case 'AUTHENTICATE': {
      r.sp();
      const mechanism = r.atom('mechanism').toUpperCase();
      if (!r.more()) return { name, mechanism };
      const ir = r.word((c) => c > 0x20 && c < 0x7f);
      r.finish();
      return { name, mechanism, initialResponse: decodeInitialResponse(ir) };
    }
    case 'LOGIN': {
      r.sp();
      const user = Buffer.from(r.astring('user name'));
      r.sp();
      const password = Buffer.from(r.astring('password'));
      r.finish();
      return { name, user, password };
    }
    case 'ENABLE': {
      // Dovecot accepts a bare ENABLE (RFC 5161 wants one capability at least).
      const capabilities: string[] = [];
      while (r.more()) capabilities.push(r.atom('capability').toUpperCase());
      return { name, capabilities };
    }
    case 'ID':
      return { name, params: readId(r) };
    case 'SELECT':
    case 'EXAMINE': {
      const mb = mailbox(r, utf8);
      let condstore = false;
      if (r.more()) {
        // RFC 4466 select-params; RFC 7162 3.1.8 CONDSTORE is the one offered.
        r.list(
          () => {
            const p = r.atom('parameter').toUpperCase();
            if (p !== 'CONDSTORE') throw new ParseError(`Unknown ${name} parameter ${p}`);
            condstore = true;
          },
          true, // Dovecot accepts `()`
          `${name} parameter list`,
        );
      }
      r.finish();
      return { name, mailbox: mb, condstore };
    }
    case 'CREATE':
    case 'DELETE':
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE': {
      const mb = mailbox(r, utf8);
      r.finish();
      return { name, mailbox: mb };
    }
    case 'RENAME': {
      const from = mailbox(r, utf8);
      const to = mailbox(r, utf8);
      r.finish();
      return { name, from, to };
    }
    case 'LIST':
      return { name, ...readListArgs(r, utf8) };
    case 'LSUB':
      return { name, ...readLsubArgs(r, utf8) };
    case 'STATUS': {
      const mb = mailbox(r, utf8);
      r.sp();
      const items = r.list(
        () => {
          const item = r.atom('status item').toUpperCase() as StatusItem;
          if (!STATUS_ITEMS.has(item)) throw new ParseError(`Invalid status item ${item}`);
          return item;
        },
        false,
        'status list',
      );
      r.finish();
      return { name, mailbox: mb, items: [...new Set(items)] };
    }
    case 'SEARCH':
    case 'UID SEARCH':
      return { name: 'SEARCH', uid: name !== 'SEARCH', ...readSearchArgs(r) };
    case 'FETCH':
    case 'UID FETCH': {
      r.sp();
      const set = readSequenceSet(r);
      r.sp();
      const args = readFetchArgs(r);
      if (name === 'UID FETCH' && !args.items.some((i) => i.kind === 'UID')) args.items.unshift({ kind: 'UID' }); // RFC 9051 6.4.9
      return { name: 'FETCH', uid: name !== 'FETCH', set, ...args };
    }
    case 'STORE':
    case 'UID STORE':
      return readStore(r, name !== 'STORE');
    case 'COPY':
    case 'MOVE':
    case 'UID COPY':
    case 'UID MOVE': {
      r.sp();
      const set = readSequenceSet(r);
      const mb = mailbox(r, utf8);
      r.finish();
      return { name: name.endsWith('COPY') ? 'COPY' : 'MOVE', uid: name.startsWith('UID'), set, mailbox: mb };
    }
    case 'UID EXPUNGE': {
      r.sp();
      const set = readSequenceSet(r);
      r.finish();
      return { name, set };
    }
    case 'APPEND':
      // framer.ts sends APPEND with its message literal as `append` events; a frame without one
      // lacks the message.
      throw new ParseError(r.atEnd() ? 'Missing arguments' : 'Missing message size');
    default:
      throw new ParseError('Unknown command');
  }
}

/** RFC 4959 SASL-IR: base64, or `=` for an empty response. */
function decodeInitialResponse(text: string): Buffer {
  if (text === '=') return Buffer.alloc(0);
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new ParseError('Invalid base64 in initial response');
  return Buffer.from(text, 'base64');
}

/** RFC 2971: `ID ("key" "value" ...)` or `ID NIL`; lenient like Dovecot (atoms, an odd count). */
function readId(r: Reader): Array<[string, string | null]> | null {
  r.sp();
  if (r.peek() !== 0x28) {
    if (r.atom('ID parameter').toUpperCase() !== 'NIL') throw new ParseError('Invalid ID parameters');
    r.finish();
    return null;
  }
  const values = r.list(() => (r.peek() === 0x22 || r.peek() === 0x7b ? r.string() : r.atom('ID parameter')), true, 'ID list');
  r.finish();
  const out: Array<[string, string | null]> = [];
  for (let i = 0; i + 1 < values.length; i += 2) {
    const k = values[i]!;
    const v = values[i + 1]!;
    const key = typeof k === 'string' ? k : k.toString('utf8');
    const value = typeof v === 'string' ? (v.toUpperCase() === 'NIL' ? null : v) : v.toString('utf8');
    out.push([key, value]);
  }
  return out;
}

/** RFC 9051 6.4.6 with RFC 7162 3.1.3 UNCHANGEDSINCE. */
function readStore(r: Reader, uid: boolean): Command {
  r.sp();
  const set = readSequenceSet(r);
  r.sp();
  let unchangedSince: bigint | undefined;
  if (r.peek() === 0x28) {
    r.list(
      () => {
        const mod = r.atom('modifier').toUpperCase();
        if (mod !== 'UNCHANGEDSINCE' || unchangedSince !== undefined) throw new ParseError(`Unknown STORE modifier ${mod}`);
        r.sp();
        unchangedSince = r.modseq('UNCHANGEDSINCE value');
      },
      false,
      'STORE modifier list',
    );
    r.sp();
  }
  const word = r.word((c) => c > 0x20 && c < 0x7f && c !== 0x28).toUpperCase();
  const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(word);
  if (!m) throw new ParseError('Invalid arguments');
  const mode: StoreMode = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'replace';
  // Dovecot takes a missing flag list as an empty one.
  const flags = r.more() ? readStoreFlags(r) : [];
  r.finish();
  const cmd: Command = { name: 'STORE', uid, set, mode, silent: m[2] !== undefined, flags };
  if (unchangedSince !== undefined) cmd.unchangedSince = unchangedSince;
  return cmd;
}

/**
 * APPEND's head, everything up to and including the message literal's `{n}` / `{n+}` / `~{n}`
 * (RFC 9051 6.3.12, RFC 3516 4.3): `tag APPEND mailbox [SP flag-list] [SP date-time] SP literal`.
 * framer.ts delivers it before any of the message's bytes.
 */
export function parseAppendHead(head: Buffer, opts: ParseOptions): AppendHeadResult {
  const state: { tag?: string; name?: string } = {};
  try {
    const r = new Reader(head);
    const { tag, name } = readHead(r, state);
    if (name !== 'APPEND') throw new ParseError('Not an APPEND command');
    if (r.atEnd()) throw new ParseError('Missing arguments');
    const mb = mailbox(r, opts.utf8Accept);
    if (r.atEnd()) throw new ParseError('Missing message size');
    r.sp();
    let flags: string[] = [];
    let date: Date | undefined;
    if (r.peek() === 0x28) {
      flags = readFlagList(r);
      r.sp();
    }
    if (r.peek() === 0x22) {
      const parsed = parseDateTime(r.quoted().toString('latin1'));
      if (!parsed) throw new ParseError('Invalid internal date');
      date = parsed;
      r.sp();
    }
    const literal = readLiteralMarker(r);
    const out: AppendHead = { tag, mailbox: mb, flags, literal };
    if (date) out.date = date;
    return { ok: true, head: out };
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    const out: AppendHeadResult = { ok: false, message: message(state, err.message) };
    if (state.tag !== undefined) out.tag = state.tag;
    return out;
  }
}

/** The trailing `{n}`, `{n+}` or `~{n}` (its CRLF may or may not be included). */
function readLiteralMarker(r: Reader): AppendHead['literal'] {
  const binary = r.take(0x7e);
  if (r.peek() !== 0x7b) throw new ParseError('Missing message size');
  r.pos++;
  const size = r.number64('message size');
  const nonSync = r.take(0x2b);
  if (!r.take(0x7d)) throw new ParseError('Invalid message size');
  const rest = r.buf.subarray(r.pos).toString('latin1');
  if (rest !== '' && rest !== '\r\n' && rest !== '\n') throw new ParseError('Invalid arguments');
  return { size, nonSync, binary };
}

/** RFC 2177: the line that ends IDLE. */
export function isIdleDone(line: Buffer): boolean {
  const r = new Reader(line);
  return r.end === 4 && line.toString('latin1', 0, 4).toUpperCase() === 'DONE';
}
