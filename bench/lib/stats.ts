/** Latency summaries and fixed-width tables for the benchmarks' output. */

export interface LatencySummary {
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of the samples (ms); sorts a copy. */
export function summarize(samples: ArrayLike<number>): LatencySummary {
  const s = Float64Array.from(samples).sort();
  if (s.length === 0) return { p50: NaN, p99: NaN, max: NaN };
  const pct = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
  return { p50: pct(50), p99: pct(99), max: s[s.length - 1]! };
}

/** Cells padded to `widths` (the last column is not padded). */
export function fmtRow(cells: string[], widths: number[]): string {
  return cells.map((c, i) => c.padEnd(widths[i] ?? 10)).join(' ').trimEnd();
}

/** A number with `digits` decimals, or "-" when there is none. */
export function fmt(n: number | null | undefined, digits = 0): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits);
}
