/**
 * RFC 7162 3.1.5: a SEARCH that used MODSEQ answers with the highest mod-sequence of the
 * messages it found (`* SEARCH 2 5 (MODSEQ 917162500)`, ESEARCH `MODSEQ 917162500`); these tell
 * the session whether and what.
 */
import type { Folder } from '../../../mailstore/types.js';
import type { SearchKey } from '../types.js';

export function searchUsesModseq(key: SearchKey): boolean {
  switch (key.kind) {
    case 'modseq':
      return true;
    case 'not':
      return searchUsesModseq(key.key);
    case 'or':
      return searchUsesModseq(key.a) || searchUsesModseq(key.b);
    case 'and':
      return key.keys.some(searchUsesModseq);
    default:
      return false;
  }
}

/** The highest MODSEQ among these sequence numbers; 0n when there are none (then none is sent). */
export function highestModseq(folder: Pick<Folder, 'uidAt' | 'meta'>, seqs: readonly number[]): bigint {
  let max = 0n;
  for (const seq of seqs) {
    const m = folder.meta(folder.uidAt(seq));
    if (m && m.modseq > max) max = m.modseq;
  }
  return max;
}
