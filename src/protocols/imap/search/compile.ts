/**
 * A SearchKey turned into a tree the evaluator walks once per message: flag names resolved,
 * sequence sets resolved to ranges, dates to milliseconds, and every key that needs the
 * message file replaced by a reference to a content leaf (content-keys.ts).
 */
import type { SearchKey } from '../types.js';
import { resolveRanges, type Ranges } from '../sequence-set.js';
import { finderFor, type ContentLeaf, type HeaderMode } from './content-keys.js';

export type Node =
  | { t: 'const'; v: boolean }
  | { t: 'flag'; flag: string; set: boolean }
  | { t: 'keyword'; lower: string; set: boolean }
  | { t: 'recent'; set: boolean }
  | { t: 'idate'; op: 'before' | 'on' | 'since'; day: number }
  | { t: 'size'; larger: boolean; size: number }
  | { t: 'uid'; ranges: Ranges }
  | { t: 'seq'; ranges: Ranges }
  | { t: 'modseq'; modseq: bigint }
  | { t: 'not'; k: Node }
  | { t: 'or'; a: Node; b: Node }
  | { t: 'and'; ks: Node[] }
  | { t: 'content'; leaf: ContentLeaf };

const SYSTEM: Record<string, string> = {
  '\\answered': '\\Answered',
  '\\deleted': '\\Deleted',
  '\\draft': '\\Draft',
  '\\flagged': '\\Flagged',
  '\\seen': '\\Seen',
};

const KEY_MODE: Record<string, HeaderMode> = { BCC: 'address', CC: 'address', FROM: 'address', TO: 'address', SUBJECT: 'subject' };

export interface CompileView {
  count(): number;
  uidAt(seq: number): number;
}

export function compile(key: SearchKey, view: CompileView, leaves: ContentLeaf[]): Node {
  switch (key.kind) {
    case 'all':
      return { t: 'const', v: true };
    case 'flag': {
      const lower = key.flag.toLowerCase();
      if (lower === '\\recent') return { t: 'recent', set: key.set };
      const sys = SYSTEM[lower];
      if (sys) return { t: 'flag', flag: sys, set: key.set };
      // A keyword; Dovecot compares keyword names case-insensitively.
      return { t: 'keyword', lower, set: key.set };
    }
    case 'new':
      return { t: 'and', ks: [{ t: 'recent', set: true }, { t: 'flag', flag: '\\Seen', set: false }] };
    case 'old':
      return { t: 'recent', set: false };
    case 'date': {
      const day = Date.UTC(key.date.getUTCFullYear(), key.date.getUTCMonth(), key.date.getUTCDate());
      if (key.which === 'internal') return { t: 'idate', op: key.op, day };
      const leaf: ContentLeaf = { kind: 'sent', op: key.op, day };
      leaves.push(leaf);
      return { t: 'content', leaf };
    }
    case 'size':
      return { t: 'size', larger: key.op === 'larger', size: key.size };
    case 'uid':
      return { t: 'uid', ranges: resolveRanges(key.set, view.count() ? view.uidAt(view.count()) : 0) };
    case 'seq':
      return { t: 'seq', ranges: resolveRanges(key.set, view.count()) };
    case 'modseq':
      return { t: 'modseq', modseq: key.modseq };
    case 'not':
      return { t: 'not', k: compile(key.key, view, leaves) };
    case 'or':
      return { t: 'or', a: compile(key.a, view, leaves), b: compile(key.b, view, leaves) };
    case 'and':
      return { t: 'and', ks: key.keys.map((k) => compile(k, view, leaves)) };
    case 'header': {
      const value = key.value.toString('utf8');
      const mode = (key.key && KEY_MODE[key.key]) ?? 'plain';
      const leaf: ContentLeaf = { kind: 'header', field: key.field.toLowerCase(), mode, finder: value === '' ? null : finderFor(value), matched: false };
      leaves.push(leaf);
      return { t: 'content', leaf };
    }
    case 'body':
    case 'text': {
      const value = key.value.toString('utf8');
      // RFC 3501 6.4.4: an empty string is in every text (Dovecot: match_always).
      if (value === '') return { t: 'const', v: true };
      const leaf: ContentLeaf = { kind: key.kind, finder: finderFor(value) };
      leaves.push(leaf);
      return { t: 'content', leaf };
    }
  }
}
