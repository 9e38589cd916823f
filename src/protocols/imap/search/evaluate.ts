/**
 * SEARCH evaluation (RFC 9051 6.4.4) over a session's view of a folder: the matching sequence
 * numbers, ascending. Keys that the folder's metadata answers (flags, keywords, \Recent,
 * INTERNALDATE, RFC822.SIZE, UID and sequence sets, MODSEQ) are evaluated first, with a
 * three-valued logic (yes / no / needs the file); a message file is read only when the answer
 * still depends on a header, BODY or TEXT key, and then only as far as needed (content-scan.ts).
 *
 * Matching of strings follows Dovecot: case-insensitive substring over decoded text, folded as
 * fold.ts says. INTERNALDATE days are calendar days in the server's local time zone, sent dates
 * in the Date: header's own zone, as Dovecot compares them.
 */
import type { Folder } from '../../../mailstore/types.js';
import { InvalidInput } from '../../../core/errors.js';
import type { SearchKey } from '../types.js';
import { rangesHave } from '../sequence-set.js';
import { compile, type Node } from './compile.js';
import { leafResult, resetLeaves, type ContentLeaf, type ScanState } from './content-keys.js';
import { ContentScanner } from './content-scan.js';

export interface SearchOptions {
  /**
   * Minutes east of UTC of the server's local time at the given instant; INTERNALDATE is
   * compared by local calendar day (Dovecot). Default: the process's time zone.
   */
  localOffset?: (ms: number) => number;
}

const YES = 1;
const NO = 0;
const UNKNOWN = -1;
type Tri = 1 | 0 | -1;

/**
 * The process's UTC offset at an instant, remembered for the quarter hour it falls in (offsets
 * change only on such boundaries), so that a date search over 100k messages does not build a
 * Date per message.
 */
function localOffsetCache(): (ms: number) => number {
  const QUARTER = 15 * 60_000;
  let bucket = NaN;
  let offset = 0;
  return (ms) => {
    const b = Math.floor(ms / QUARTER);
    if (b !== bucket) {
      bucket = b;
      offset = -new Date(ms).getTimezoneOffset();
    }
    return offset;
  };
}

/** Whether every string in the key is valid UTF-8 (the session answers BAD otherwise). */
export function searchKeyValid(key: SearchKey): boolean {
  switch (key.kind) {
    case 'header':
    case 'body':
    case 'text':
      return isUtf8(key.value);
    case 'not':
      return searchKeyValid(key.key);
    case 'or':
      return searchKeyValid(key.a) && searchKeyValid(key.b);
    case 'and':
      return key.keys.every(searchKeyValid);
    default:
      return true;
  }
}

function isUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

export async function searchFolder(folder: Folder, key: SearchKey, opts: SearchOptions = {}): Promise<number[]> {
  if (!searchKeyValid(key)) throw new InvalidInput('Invalid search key'); // Dovecot: BAD Error in IMAP command SEARCH: Invalid search key
  const leaves: ContentLeaf[] = [];
  const root = compile(key, folder, leaves);
  const localOffset = opts.localOffset ?? localOffsetCache();
  const scanner = leaves.length > 0 ? new ContentScanner(leaves) : null;
  const st: ScanState = { sent: 0 };
  const out: number[] = [];
  const count = folder.count();
  // One context, reused: a metadata-only search over 100k messages allocates nothing per message.
  const ctx: MsgCtx = { folder, seq: 0, uid: 0, localOffset, st, content: false };
  for (let seq = 1; seq <= count; seq++) {
    const uid = folder.uidAt(seq);
    ctx.seq = seq;
    ctx.uid = uid;
    ctx.content = false;
    let r = evalNode(root, ctx);
    if (r === UNKNOWN && scanner) {
      resetLeaves(leaves);
      try {
        await scanner.scan(() => folder.read(uid), st);
      } catch {
        // The file went away (expunged by another writer) or cannot be read: no match,
        // as Dovecot skips a message it cannot open.
        continue;
      }
      ctx.content = true;
      r = evalNode(root, ctx);
    }
    if (r === YES) out.push(seq);
  }
  return out;
}

interface MsgCtx {
  folder: Folder;
  seq: number;
  uid: number;
  localOffset: (ms: number) => number;
  st: ScanState;
  /** The content leaves hold this message's results. */
  content: boolean;
}

function tri(b: boolean): Tri {
  return b ? YES : NO;
}

function evalNode(n: Node, c: MsgCtx): Tri {
  switch (n.t) {
    case 'const':
      return tri(n.v);
    case 'uid':
      return tri(rangesHave(n.ranges, c.uid));
    case 'seq':
      return tri(rangesHave(n.ranges, c.seq));
    case 'recent':
      return tri(c.folder.isRecent(c.uid) === n.set);
    case 'not': {
      const r = evalNode(n.k, c);
      return r === UNKNOWN ? UNKNOWN : r === YES ? NO : YES;
    }
    case 'or': {
      const a = evalNode(n.a, c);
      if (a === YES) return YES;
      const b = evalNode(n.b, c);
      if (b === YES) return YES;
      return a === UNKNOWN || b === UNKNOWN ? UNKNOWN : NO;
    }
    case 'and': {
      let r: Tri = YES;
      for (const k of n.ks) {
        const x = evalNode(k, c);
        if (x === NO) return NO;
        if (x === UNKNOWN) r = UNKNOWN;
      }
      return r;
    }
    case 'content':
      return c.content ? tri(leafResult(n.leaf, c.st)) : UNKNOWN;
    default: {
      const m = c.folder.meta(c.uid);
      if (!m) return NO; // expunged meanwhile
      switch (n.t) {
        case 'flag':
          return tri(m.flags.includes(n.flag) === n.set);
        case 'keyword':
          return tri(hasKeyword(m.flags, n.lower) === n.set);
        case 'size':
          return tri(n.larger ? m.size > n.size : m.size < n.size);
        case 'modseq':
          return tri(m.modseq >= n.modseq);
        case 'idate': {
          const t = m.internalDate.getTime();
          const local = t + c.localOffset(t) * 60_000;
          return tri(n.op === 'before' ? local < n.day : n.op === 'since' ? local >= n.day : local >= n.day && local < n.day + 86_400_000);
        }
      }
    }
  }
}

function hasKeyword(flags: readonly string[], lower: string): boolean {
  for (const f of flags) if (f.length === lower.length && sameIgnoringCase(f, lower)) return true;
  return false;
}

/** `lower` is lower-case already; no string is built (this runs per message). */
function sameIgnoringCase(f: string, lower: string): boolean {
  for (let i = 0; i < f.length; i++) {
    let c = f.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    else if (c >= 0x80) return f.toLowerCase() === lower;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}
