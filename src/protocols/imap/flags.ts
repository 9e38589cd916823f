/**
 * Message flags in STORE and APPEND (RFC 9051 9 `flag-list`, `flag`): the five system flags a
 * client may set, written in their canonical case, and keywords (atoms) kept as written.
 */
import { ParseError, type Reader } from './reader.js';

/** \Recent is not among them: RFC 9051 2.3.2, only the server sets it. */
const SYSTEM_FLAGS = new Map(['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'].map((f) => [f.toUpperCase(), f]));

/** One `flag`: a system flag (canonical case) or a keyword atom. */
export function readFlag(r: Reader): string {
  if (r.take(0x5c)) {
    const name = r.atom('flag');
    const flag = SYSTEM_FLAGS.get(`\\${name.toUpperCase()}`);
    // Dovecot refuses unknown "\" flags (RFC 9051 flag-extension) rather than storing them.
    if (!flag) throw new ParseError(`Invalid system flag \\${name.toUpperCase()}`);
    return flag;
  }
  const c = r.peek();
  if (c === 0x22 || c === 0x7b || c === 0x28) throw new ParseError('Flags list contains non-atoms');
  return r.atom('flag');
}

/** `(` [flag *(SP flag)] `)`. */
export function readFlagList(r: Reader): string[] {
  return dedupe(r.list(() => readFlag(r), true, 'flag list'));
}

/** STORE's `flag-list / (flag *(SP flag))`: a list, or bare flags up to the end of the command. */
export function readStoreFlags(r: Reader): string[] {
  if (r.peek() === 0x28) return readFlagList(r);
  const out = [readFlag(r)];
  while (r.more()) out.push(readFlag(r));
  return dedupe(out);
}

/** Keywords compare case-insensitively (RFC 9051 2.3.2); keep the first spelling. */
function dedupe(flags: string[]): string[] {
  const seen = new Set<string>();
  return flags.filter((f) => {
    const k = f.toUpperCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
