import { InvalidInput } from './errors.js';

const UNITS: Record<string, number> = {
  '': 1, B: 1,
  K: 1024, KB: 1024, KIB: 1024,
  M: 1024 ** 2, MB: 1024 ** 2, MIB: 1024 ** 2,
  G: 1024 ** 3, GB: 1024 ** 3, GIB: 1024 ** 3,
  T: 1024 ** 4, TB: 1024 ** 4, TIB: 1024 ** 4,
};

/**
 * "50M", "1G", "512k", "1048576" → bytes. Binary units, as Dovecot's quota rules and most
 * operators mean them. `defaultUnit` applies to a bare number.
 */
export function parseSize(input: string | number, defaultUnit = ''): number {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0) throw new InvalidInput(`invalid size: ${input}`);
    return input * (UNITS[defaultUnit.toUpperCase()] ?? 1);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  if (!m) throw new InvalidInput(`invalid size: ${JSON.stringify(input)} (use e.g. 50M, 1G, 1048576)`);
  const unit = (m[2] || defaultUnit).toUpperCase();
  const factor = UNITS[unit];
  if (factor === undefined) throw new InvalidInput(`invalid size unit in ${JSON.stringify(input)}`);
  const bytes = Math.round(Number(m[1]) * factor);
  if (!Number.isSafeInteger(bytes)) throw new InvalidInput(`size too large: ${JSON.stringify(input)}`);
  return bytes;
}

export function formatSize(bytes: number): string {
  for (const [unit, factor] of [['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}
