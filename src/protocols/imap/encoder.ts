/**
 * IMAP response encoding of strings, mailbox names, flag lists and dates (RFC 9051 4.3, 9).
 *
 * Choices between atom, quoted string and literal follow Dovecot 2.3 (src/lib-imap/imap-quote.c),
 * so clients see the same bytes after a switch from Dovecot:
 * - a string goes as a literal when it holds CR, LF, NUL or 8-bit bytes, or more than four
 *   quoted-specials (`"` `\`), where escaping would cost more than the literal's header;
 * - "for humans" strings (ENVELOPE subject and address display names) are normalised first:
 *   runs of white space (SP, TAB, CR, LF) become one space, leading and trailing white space is
 *   dropped, NUL becomes 0x80; any such change, a quoted-special or an 8-bit byte makes a literal.
 *
 * Everything that may carry a literal returns a Buffer: literals hold raw bytes, not text.
 */
import { encodeMutf7 } from '../../core/mutf7.js';

const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const CR = 0x0d;
const LF = 0x0a;
const TAB = 0x09;
const SP = 0x20;
/** Dovecot's QUOTED_MAX_ESCAPE_CHARS: more quoted-specials than this and a literal is shorter. */
const MAX_ESCAPES = 4;

function bytesOf(v: string | Buffer): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

/** `"..."` with `"` and `\` escaped; the caller guarantees no CR, LF, NUL or 8-bit (RFC 9051 9 quoted). */
export function quoted(s: string): string {
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}

/** A synchronizing literal `{n}\r\n<bytes>` (RFC 9051 4.3). */
export function literal(v: string | Buffer): Buffer {
  const b = bytesOf(v);
  return Buffer.concat([Buffer.from(`{${b.length}}\r\n`), b]);
}

/** Whether `b` must go as a literal rather than a quoted string (imap-quote.c imap_append_nstring). */
function needsLiteral(b: Buffer): boolean {
  let escapes = 0;
  for (const c of b) {
    if (c === DQUOTE || c === BACKSLASH) {
      if (++escapes > MAX_ESCAPES) return true;
    } else if (c === CR || c === LF || c === 0 || c >= 0x80) {
      return true;
    }
  }
  return false;
}

/** RFC 9051 9 `string`: quoted when it can be, else a literal. */
export function string(v: string | Buffer): Buffer {
  const b = bytesOf(v);
  if (needsLiteral(b)) return literal(b);
  return Buffer.from(quoted(b.toString('latin1')), 'latin1');
}

/** RFC 9051 9 `nstring`: NIL for null. */
export function nstring(v: string | Buffer | null | undefined): Buffer {
  return v === null || v === undefined ? Buffer.from('NIL') : string(v);
}

/** RFC 9051 9 ATOM-CHAR plus resp-specials (`]`): what an astring may hold as a bare atom. */
function isAstringChar(c: number): boolean {
  if (c <= 0x20 || c >= 0x7f) return false;
  // atom-specials: ( ) { SP CTL list-wildcards (% *) quoted-specials (" \); `]` is allowed.
  return c !== 0x28 && c !== 0x29 && c !== 0x7b && c !== 0x25 && c !== 0x2a && c !== DQUOTE && c !== BACKSLASH;
}

/** RFC 9051 9 `astring`: a bare atom when possible (never for "" or "NIL", which would read as NIL). */
export function astring(v: string | Buffer): Buffer {
  const b = bytesOf(v);
  if (b.length === 0 || !b.every(isAstringChar) || b.toString('latin1').toUpperCase() === 'NIL') return string(b);
  return b;
}

/**
 * A mailbox name as an astring: modified UTF-7 (RFC 3501 5.1.3) unless the client enabled
 * UTF8=ACCEPT / IMAP4rev2 UTF-8 names (RFC 9051 5.1).
 */
export function mailboxName(name: string, utf8: boolean): Buffer {
  return astring(utf8 ? name : encodeMutf7(name));
}

/** `(\Seen $Label1)`; flags are atoms already validated by the store. */
export function flagList(flags: readonly string[]): string {
  return `(${flags.join(' ')})`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/**
 * INTERNALDATE `"dd-Mon-yyyy hh:mm:ss +zzzz"` (RFC 9051 9 date-time) in the server's local time
 * zone with a zero-padded day, as Dovecot writes it.
 */
export function imapDate(date: Date): string {
  const off = -date.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  return (
    `"${pad(date.getDate())}-${MONTHS[date.getMonth()]}-${pad(date.getFullYear(), 4)} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}"`
  );
}

/**
 * A string meant for people (ENVELOPE subject, display names), normalised as Dovecot does
 * (imap-quote.c imap_append_string_for_humans in 2.3): runs of SP, TAB, CR and LF → one space,
 * no leading or trailing white space, NUL → 0x80. Unchanged plain text stays a quoted string;
 * anything changed, quoted-specials or 8-bit bytes make a literal.
 */
export function humanString(v: string | Buffer): Buffer {
  const b = bytesOf(v);
  let modify = false;
  let lastLwsp = true;
  for (const c of b) {
    if (c === 0) {
      modify = true;
      lastLwsp = false;
    } else if (c === TAB || c === SP || c === CR || c === LF) {
      if (c !== SP || lastLwsp) modify = true;
      lastLwsp = true;
    } else {
      if (c === DQUOTE || c === BACKSLASH || c >= 0x80) modify = true;
      lastLwsp = false;
    }
  }
  if (lastLwsp && b.length > 0) modify = true;
  if (!modify) return Buffer.concat([Buffer.from('"'), b, Buffer.from('"')]);
  const out: number[] = [];
  lastLwsp = true;
  for (const c of b) {
    if (c === 0) {
      out.push(0x80);
      lastLwsp = false;
    } else if (c === TAB || c === SP || c === CR || c === LF) {
      if (!lastLwsp) out.push(SP);
      lastLwsp = true;
    } else {
      out.push(c);
      lastLwsp = false;
    }
  }
  if (lastLwsp && out.length > 0) out.pop();
  if (out.length === 0) return Buffer.from('""');
  return literal(Buffer.from(out));
}
