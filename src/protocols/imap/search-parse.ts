/**
 * SEARCH criteria (RFC 9051 6.4.4, RFC 3501 6.4.4, RFC 7162 3.1.5 MODSEQ) and the RFC 4731 /
 * RFC 9051 RETURN options. Several keys in a row, and keys in parentheses, are ANDed.
 */
import { isUtf8 } from 'node:buffer';
import { readSearchDate } from './datetime.js';
import { readFlag } from './flags.js';
import { ParseError, type Reader } from './reader.js';
import { readSequenceSet, startsSequenceSet } from './sequence-parse.js';
import type { SearchKey, SearchReturn } from './types.js';

/** Keys without arguments. */
const NULLARY: Record<string, SearchKey> = {
  ALL: { kind: 'all' },
  ANSWERED: { kind: 'flag', flag: '\\Answered', set: true },
  DELETED: { kind: 'flag', flag: '\\Deleted', set: true },
  DRAFT: { kind: 'flag', flag: '\\Draft', set: true },
  FLAGGED: { kind: 'flag', flag: '\\Flagged', set: true },
  SEEN: { kind: 'flag', flag: '\\Seen', set: true },
  RECENT: { kind: 'flag', flag: '\\Recent', set: true },
  UNANSWERED: { kind: 'flag', flag: '\\Answered', set: false },
  UNDELETED: { kind: 'flag', flag: '\\Deleted', set: false },
  UNDRAFT: { kind: 'flag', flag: '\\Draft', set: false },
  UNFLAGGED: { kind: 'flag', flag: '\\Flagged', set: false },
  UNSEEN: { kind: 'flag', flag: '\\Seen', set: false },
  NEW: { kind: 'new' },
  OLD: { kind: 'old' },
};

/** Address/subject keys are header searches on that field (RFC 9051 6.4.4). */
const HEADER_KEYS: Record<string, string> = { BCC: 'Bcc', CC: 'Cc', FROM: 'From', SUBJECT: 'Subject', TO: 'To' };

const DATE_KEYS: Record<string, { which: 'internal' | 'sent'; op: 'before' | 'on' | 'since' }> = {
  BEFORE: { which: 'internal', op: 'before' },
  ON: { which: 'internal', op: 'on' },
  SINCE: { which: 'internal', op: 'since' },
  SENTBEFORE: { which: 'sent', op: 'before' },
  SENTON: { which: 'sent', op: 'on' },
  SENTSINCE: { which: 'sent', op: 'since' },
};

/** Nesting deeper than this is an attack, not a search (recursion must stay bounded). */
const MAX_DEPTH = 100;

function param(r: Reader, key: string): void {
  if (r.atEnd() || r.peek() === 0x29) throw new ParseError(`Missing parameter for search key (for search key: ${key})`);
  r.sp();
  if (r.atEnd() || r.peek() === 0x29) throw new ParseError(`Missing parameter for search key (for search key: ${key})`);
}

/** Per-command parsing context. */
interface Ctx {
  /** CHARSET UTF-8 / US-ASCII (or none): strings must be UTF-8 (Dovecot refuses others too). */
  utf8: boolean;
}

function astringParam(r: Reader, key: string, ctx: Ctx): Buffer {
  param(r, key);
  const value = r.astring();
  if (ctx.utf8 && !isUtf8(value)) throw new ParseError(`Invalid search string (for search key: ${key}): not UTF-8`);
  return value;
}

/** A key that needs another key after it (NOT, OR). */
function subKey(r: Reader, depth: number, ctx: Ctx): SearchKey {
  if (r.atEnd() || r.peek() === 0x29) throw new ParseError('Missing argument');
  r.sp();
  if (r.atEnd() || r.peek() === 0x29) throw new ParseError('Missing argument');
  return readKey(r, depth + 1, ctx);
}

function readKey(r: Reader, depth: number, ctx: Ctx): SearchKey {
  if (depth > MAX_DEPTH) throw new ParseError('Search key nesting too deep');
  const c = r.peek();
  if (c === 0x28) {
    r.pos++;
    if (r.take(0x29)) throw new ParseError('No search parameters inside list');
    const keys: SearchKey[] = [];
    for (;;) {
      keys.push(readKey(r, depth + 1, ctx));
      if (r.take(0x29)) break;
      if (r.atEnd()) throw new ParseError("Missing ')'");
      r.sp();
    }
    return keys.length === 1 ? keys[0]! : { kind: 'and', keys };
  }
  if (c === 0x29) throw new ParseError("Unexpected ')'");
  if (startsSequenceSet(c)) return { kind: 'seq', set: readSequenceSet(r) };

  const name = r.atom('search key').toUpperCase();
  const fixed = NULLARY[name];
  if (fixed) return { ...fixed };
  const header = HEADER_KEYS[name];
  if (header) return { kind: 'header', field: header, value: astringParam(r, name, ctx) };
  const date = DATE_KEYS[name];
  if (date) {
    param(r, name);
    return { kind: 'date', ...date, date: readSearchDate(r) };
  }
  switch (name) {
    case 'BODY':
    case 'TEXT':
      return { kind: name === 'BODY' ? 'body' : 'text', value: astringParam(r, name, ctx) };
    case 'HEADER': {
      const field = astringParam(r, name, ctx);
      if (field.some((b) => b <= 0x20 || b >= 0x7f || b === 0x3a)) throw new ParseError('Invalid header field name');
      return { kind: 'header', field: field.toString('latin1'), value: astringParam(r, name, ctx) };
    }
    case 'KEYWORD':
    case 'UNKEYWORD': {
      param(r, name);
      // RFC 9051 flag-keyword; a system flag here (Dovecot accepts `KEYWORD \Seen`) means that flag.
      return { kind: 'flag', flag: readFlag(r), set: name === 'KEYWORD' };
    }
    case 'LARGER':
    case 'SMALLER': {
      param(r, name);
      let size: number;
      try {
        size = r.number64();
      } catch {
        throw new ParseError('Invalid search size parameter');
      }
      if (!r.atEnd() && r.peek() !== 0x20 && r.peek() !== 0x29) throw new ParseError('Invalid search size parameter');
      return { kind: 'size', op: name === 'LARGER' ? 'larger' : 'smaller', size };
    }
    case 'UID':
      param(r, name);
      return { kind: 'uid', set: readSequenceSet(r, 'Invalid UID messageset') };
    case 'NOT':
      return { kind: 'not', key: subKey(r, depth, ctx) };
    case 'OR': {
      const a = subKey(r, depth, ctx);
      return { kind: 'or', a, b: subKey(r, depth, ctx) };
    }
    case 'MODSEQ':
      return readModseq(r);
    default:
      throw new ParseError(`Unknown argument ${name}`);
  }
}

/** RFC 7162 3.1.5: MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer. */
function readModseq(r: Reader): SearchKey {
  param(r, 'MODSEQ');
  if (r.peek() === 0x22) {
    // entry-name = DQUOTE "/flags/" attr-flag DQUOTE; the per-flag modseq is not tracked
    // separately (as in Dovecot), so the name only has to be well-formed.
    const entry = r.quoted().toString('latin1');
    if (!/^\/flags\/\\?[^\s()]+$/i.test(entry)) throw new ParseError('Invalid MODSEQ entry name');
    param(r, 'MODSEQ');
    const type = r.atom('entry type').toLowerCase();
    if (type !== 'priv' && type !== 'shared' && type !== 'all') throw new ParseError('Invalid MODSEQ entry type');
    param(r, 'MODSEQ');
  }
  let modseq: bigint;
  try {
    modseq = r.modseq();
  } catch {
    throw new ParseError('Invalid MODSEQ value');
  }
  return { kind: 'modseq', modseq };
}

const RETURN_OPTIONS = new Set<SearchReturn>(['MIN', 'MAX', 'ALL', 'COUNT', 'SAVE']);

export interface SearchArgs {
  charset?: string;
  returns?: SearchReturn[];
  criteria: SearchKey;
}

/** Everything after `SEARCH`/`UID SEARCH` (the reader is just past the command name). */
export function readSearchArgs(r: Reader): SearchArgs {
  const out: Partial<SearchArgs> = {};
  if (!r.more()) throw new ParseError('Missing search parameters');
  let save = r.pos;
  let word = r.word((c) => c > 0x20 && c < 0x7f && c !== 0x28 && c !== 0x29).toUpperCase();
  if (word === 'RETURN') {
    r.sp();
    const opts = r.list(
      () => {
        const o = r.atom('return option').toUpperCase() as SearchReturn;
        if (!RETURN_OPTIONS.has(o)) throw new ParseError('Unknown SEARCH return option');
        return o;
      },
      true,
    );
    // RFC 4731 3.1: an empty list means ALL.
    out.returns = opts.length === 0 ? ['ALL'] : [...new Set(opts)];
    if (!r.more()) throw new ParseError('Missing search parameters');
    save = r.pos;
    word = r.word((c) => c > 0x20 && c < 0x7f && c !== 0x28 && c !== 0x29).toUpperCase();
  }
  if (word === 'CHARSET') {
    if (!r.more()) throw new ParseError('Missing search parameters');
    out.charset = r.astring('charset').toString('latin1').toUpperCase();
    if (!r.more()) throw new ParseError('Missing search parameters');
  } else {
    r.pos = save;
  }
  const ctx: Ctx = { utf8: out.charset === undefined || out.charset === 'UTF-8' || out.charset === 'US-ASCII' };
  const keys: SearchKey[] = [];
  for (;;) {
    keys.push(readKey(r, 0, ctx));
    if (r.peek() === 0x29) throw new ParseError("Unexpected ')'");
    if (!r.more()) break;
  }
  out.criteria = keys.length === 1 ? keys[0]! : { kind: 'and', keys };
  return out as SearchArgs;
}
