/**
 * Resolving a parsed sequence set (RFC 9051 9 `sequence-set`) against a mailbox: `*` is the
 * largest number in use, `4:2` means 2:4, and a range past the end still contains the largest
 * number (RFC 9051 6.4.9: `UID FETCH 3291:*` returns the last message even if its UID < 3291).
 */
import type { SequenceSet } from './types.js';

/** Sorted, merged, inclusive ranges. */
export type Ranges = ReadonlyArray<readonly [number, number]>;

export function resolveRanges(set: SequenceSet, max: number): Ranges {
  const out: [number, number][] = [];
  for (const r of set.ranges) {
    const a = r.from === '*' ? max : r.from;
    const b = r.to === '*' ? max : r.to;
    out.push(a <= b ? [a, b] : [b, a]);
  }
  out.sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const r of out) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

export function rangesHave(ranges: Ranges, n: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = ranges[mid]!;
    if (n < a) hi = mid - 1;
    else if (n > b) lo = mid + 1;
    else return true;
  }
  return false;
}

/**
 * The sequence numbers (1..count) a set names in a view: `uid` sets name UIDs, which are looked
 * up, and UIDs not in the view are skipped (RFC 9051 6.4.9); a message sequence number above
 * `count` is for the caller to refuse (RFC 9051 6.4.5 BAD). Ascending, without duplicates.
 */
export function selectSeqs(set: SequenceSet, uid: boolean, view: { count(): number; uidAt(seq: number): number; seqOf(uid: number): number }): number[] {
  const count = view.count();
  if (count === 0) return [];
  const out: number[] = [];
  if (!uid) {
    for (const [a, b] of resolveRanges(set, count)) for (let s = Math.max(a, 1); s <= Math.min(b, count); s++) out.push(s);
    return out;
  }
  const ranges = resolveRanges(set, view.uidAt(count));
  const span = ranges.reduce((n, [a, b]) => n + (b - a + 1), 0);
  if (span < count) {
    // Few UIDs named (the usual UID FETCH of a handful): look each one up.
    for (const [a, b] of ranges) for (let u = a; u <= b; u++) {
      const s = view.seqOf(u);
      if (s) out.push(s);
    }
    return out;
  }
  for (let s = 1; s <= count; s++) if (rangesHave(ranges, view.uidAt(s))) out.push(s);
  return out;
}

/** Whether a set names a message number above `count` (FETCH 5 in a 4-message mailbox: BAD). */
export function beyond(set: SequenceSet, count: number): boolean {
  return set.ranges.some((r) => (r.from !== '*' && r.from > count) || (r.to !== '*' && r.to > count));
}
