import { describe, expect, it } from 'vitest';
import { beyond, rangesHave, resolveRanges, selectSeqs } from '../../../src/protocols/imap/sequence-set.js';
import type { SequenceSet } from '../../../src/protocols/imap/types.js';

const set = (...r: [number | '*', number | '*'][]): SequenceSet => ({ ranges: r.map(([from, to]) => ({ from, to })) });
const view = (uids: number[]) => ({ count: () => uids.length, uidAt: (s: number) => uids[s - 1] ?? 0, seqOf: (u: number) => uids.indexOf(u) + 1 });

describe('sequence sets', () => {
  it('resolves *, reversed ranges and overlaps', () => {
    expect(resolveRanges(set([4, 2], [3, '*'], [9, 9]), 7)).toEqual([[2, 7], [9, 9]]);
    expect(resolveRanges(set(['*', 3]), 2)).toEqual([[2, 3]]);
  });
  it('finds numbers in ranges', () => {
    const r = resolveRanges(set([1, 3], [10, 12], [20, 20]), 30);
    expect([0, 1, 3, 4, 10, 12, 13, 20, 21].map((n) => rangesHave(r, n))).toEqual([false, true, true, false, true, true, false, true, false]);
  });
  it('selects by sequence number and by UID, skipping UIDs not in the view', () => {
    const v = view([3, 5, 9, 40]);
    expect(selectSeqs(set([2, '*']), false, v)).toEqual([2, 3, 4]);
    expect(selectSeqs(set([4, 10]), true, v)).toEqual([2, 3]);
    expect(selectSeqs(set([1, '*']), true, v)).toEqual([1, 2, 3, 4]);
    // RFC 9051 6.4.9: n:* with n above the last UID still names the last message
    expect(selectSeqs(set([100, '*']), true, v)).toEqual([4]);
    expect(selectSeqs(set([1, '*']), true, view([]))).toEqual([]);
  });
  it('tells a sequence number past the end', () => {
    expect(beyond(set([1, 5]), 4)).toBe(true);
    expect(beyond(set([1, '*']), 4)).toBe(false);
  });
});
