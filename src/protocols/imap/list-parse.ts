/**
 * LIST (RFC 9051 6.3.9 with LIST-EXTENDED, RFC 5258) and LSUB (RFC 3501 6.3.9) arguments:
 * `LIST [(select-opts)] reference (pattern / (patterns)) [RETURN (return-opts)]`.
 */
import { listPattern } from './mailbox-name.js';
import { ParseError, type Reader } from './reader.js';
import type { ListOptions } from './types.js';

/** RFC 5258 3.1 / RFC 6154 5.1; REMOTE has nothing to do on a single server but is valid. */
const SELECT_OPTIONS = new Set(['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH', 'SPECIAL-USE']);
/** RFC 5258 3.2 / RFC 6154 5.1 (STATUS, RFC 5819, is not offered). */
const RETURN_OPTIONS = new Set(['SUBSCRIBED', 'CHILDREN', 'SPECIAL-USE']);

function options(r: Reader, known: Set<string>, what: string): string[] {
  const list = r.list(
    () => {
      const o = r.atom(`${what} option`).toUpperCase();
      if (!known.has(o)) throw new ParseError(`Unknown ${what} option ${o}`);
      return o;
    },
    true,
  );
  return [...new Set(list)];
}

export interface ListArgs {
  reference: string;
  patterns: string[];
  options: ListOptions;
}

export function readListArgs(r: Reader, utf8: boolean): ListArgs {
  const opts: ListOptions = { select: [], return: [] };
  r.sp();
  if (r.peek() === 0x28) {
    opts.select = options(r, SELECT_OPTIONS, 'LIST select');
    // RFC 5258 3.1: RECURSIVEMATCH alone is an error.
    if (opts.select.includes('RECURSIVEMATCH') && !opts.select.some((o) => o !== 'RECURSIVEMATCH' && o !== 'REMOTE')) {
      throw new ParseError('RECURSIVEMATCH must be combined with another selection option');
    }
    r.sp();
  }
  if (r.atEnd()) throw new ParseError('Invalid reference');
  // Dovecot reads the reference like a pattern (`LIST * ""` works there).
  const reference = listPattern(r.listMailbox(), utf8);
  r.sp();
  let patterns: string[];
  if (r.peek() === 0x28) patterns = r.list(() => listPattern(r.listMailbox(), utf8), true, 'pattern list'); // `()` lists nothing, as in Dovecot
  else patterns = [listPattern(r.listMailbox(), utf8)];
  if (r.more()) {
    if (r.atom('RETURN').toUpperCase() !== 'RETURN') throw new ParseError('Invalid arguments');
    r.sp();
    opts.return = options(r, RETURN_OPTIONS, 'LIST return');
  }
  r.finish();
  return { reference, patterns, options: opts };
}

export function readLsubArgs(r: Reader, utf8: boolean): { reference: string; pattern: string } {
  r.sp();
  if (r.atEnd()) throw new ParseError('Invalid reference');
  const reference = listPattern(r.listMailbox(), utf8);
  if (r.atEnd()) throw new ParseError('Invalid pattern');
  r.sp();
  const pattern = listPattern(r.listMailbox(), utf8);
  r.finish();
  return { reference, pattern };
}
