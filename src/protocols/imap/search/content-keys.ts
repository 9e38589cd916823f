/**
 * The keys of one search that need the message file: header fields, the Date: header, BODY
 * and TEXT. Each holds its own per-message state, reset before every message, and is read by
 * the evaluator after a scan (content-scan.ts).
 */
import { StreamFinder } from './finder.js';
import { searchFold } from './fold.js';

export type HeaderMode = 'plain' | 'address' | 'subject';

export interface HeaderLeaf {
  kind: 'header';
  /** Lower-case field name. */
  field: string;
  mode: HeaderMode;
  /** null: the key was empty, which asks only whether the field exists. */
  finder: StreamFinder | null;
  matched: boolean;
}

export interface TextLeaf {
  kind: 'body' | 'text';
  finder: StreamFinder;
}

export interface SentLeaf {
  kind: 'sent';
  op: 'before' | 'on' | 'since';
  /** UTC midnight of the searched day, ms. */
  day: number;
}

export type ContentLeaf = HeaderLeaf | TextLeaf | SentLeaf;

/** What the last scan found out about the message. */
export interface ScanState {
  /** The first Date: header as wall-clock ms (0 when missing or unparsable, as Dovecot). */
  sent: number;
}

export function finderFor(value: string): StreamFinder {
  return new StreamFinder(searchFold(value));
}

export function resetLeaves(leaves: readonly ContentLeaf[]): void {
  for (const l of leaves) {
    if (l.kind === 'header') {
      l.matched = false;
      if (l.finder) {
        l.finder.found = false;
        l.finder.resetContext();
      }
    } else if (l.kind !== 'sent') {
      l.finder.found = false;
      l.finder.resetContext();
    }
  }
}

export function leafResult(l: ContentLeaf, st: ScanState): boolean {
  switch (l.kind) {
    case 'header':
      return l.matched;
    case 'body':
    case 'text':
      return l.finder.found;
    case 'sent':
      return l.op === 'before' ? st.sent < l.day : l.op === 'since' ? st.sent >= l.day : st.sent >= l.day && st.sent < l.day + 86_400_000;
  }
}
