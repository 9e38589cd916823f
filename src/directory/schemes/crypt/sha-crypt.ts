import { encode24 } from './base64.js';
import { digest } from './digest.js';

/**
 * SHA-crypt (`$5$` SHA-256, `$6$` SHA-512) as specified by Ulrich Drepper,
 * https://www.akkadia.org/drepper/SHA-crypt.txt, which glibc and libxcrypt implement and
 * Dovecot's SHA256-CRYPT / SHA512-CRYPT call through crypt(3).
 *
 * Setting: `$6$[rounds=N$]salt[$...]`. The salt is cut at the first `$` and at 16 characters;
 * rounds are clamped to 1000..999999999 and written back only when given, as glibc does, so
 * comparing the output with a stored hash reproduces crypt(3)'s verdict. (libxcrypt, Debian 12's
 * libcrypt, rejects out-of-range rounds instead: a stored hash never verifies either way.
 * It also refuses passwords over 512 bytes; glibc did not, and neither does this.)
 * Pure and synchronous: the caller decides which thread pays for the 5000+ digests.
 */

const ROUNDS_DEFAULT = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;
const SALT_MAX = 16;

interface Variant {
  algo: 'sha256' | 'sha512';
  size: number;
  /** Digest byte order for the final encoding: triples, then the tail group (index -1 = a zero byte, last = char count). */
  order: readonly (readonly [number, number, number])[];
  tail: readonly [number, number, number, number];
}

// Digest byte order of the final encoding, copied from the spec's tables (the two variants
// rotate their triples in opposite directions, so a formula would only hide that).
const SHA256: Variant = {
  algo: 'sha256',
  size: 32,
  order: [
    [0, 10, 20], [21, 1, 11], [12, 22, 2], [3, 13, 23], [24, 4, 14],
    [15, 25, 5], [6, 16, 26], [27, 7, 17], [18, 28, 8], [9, 19, 29],
  ],
  tail: [-1, 31, 30, 3],
};
const SHA512: Variant = {
  algo: 'sha512',
  size: 64,
  order: [
    [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48],
    [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13],
    [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
  ],
  tail: [-1, -1, 63, 2],
};

export function isShaCryptSetting(setting: string): boolean {
  return setting.startsWith('$5$') || setting.startsWith('$6$');
}

/** crypt(3) for `$5$` and `$6$` settings; `password` is the raw bytes (UTF-8 for text). */
export function shaCrypt(password: Buffer, setting: string): string {
  const id = setting.slice(0, 3);
  const v = id === '$6$' ? SHA512 : id === '$5$' ? SHA256 : null;
  if (v === null) throw new Error('not a SHA-crypt setting');
  let rest = setting.slice(3);
  let rounds = ROUNDS_DEFAULT;
  let roundsCustom = false;
  const m = /^rounds=(\d+)\$/.exec(rest);
  if (m?.[1] !== undefined) {
    rounds = Math.min(ROUNDS_MAX, Math.max(ROUNDS_MIN, Number(m[1])));
    roundsCustom = true;
    rest = rest.slice(m[0].length);
  }
  const dollar = rest.indexOf('$');
  const saltText = (dollar === -1 ? rest : rest.slice(0, dollar)).slice(0, SALT_MAX);
  const digest = shaCryptDigest(v, password, Buffer.from(saltText, 'latin1'), rounds);
  return `${id}${roundsCustom ? `rounds=${rounds}$` : ''}${saltText}$${encode(v, digest)}`;
}

function shaCryptDigest(v: Variant, p: Buffer, s: Buffer, rounds: number): Buffer {
  const h = (...parts: Buffer[]): Buffer => digest(v.algo, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  const b = h(p, s, p);
  const a: Buffer[] = [p, s, repeatTo(b, p.length)];
  for (let n = p.length; n > 0; n >>>= 1) a.push(n & 1 ? b : p);
  let c = h(...a);

  const pp = repeatTo(h(Buffer.concat(Array<Buffer>(p.length).fill(p))), p.length);
  const ss = repeatTo(h(Buffer.concat(Array<Buffer>(16 + (c[0] ?? 0)).fill(s))), s.length);

  // One reused input buffer and a one-shot digest per round: ~20% faster than createHash + update.
  const buf = Buffer.alloc(2 * v.size + 2 * pp.length + ss.length);
  for (let i = 0; i < rounds; i++) {
    let o = (i & 1 ? pp : c).copy(buf, 0);
    if (i % 3 !== 0) o += ss.copy(buf, o);
    if (i % 7 !== 0) o += pp.copy(buf, o);
    o += (i & 1 ? c : pp).copy(buf, o);
    c = digest(v.algo, buf.subarray(0, o));
  }
  return c;
}

/** `src` repeated and cut to exactly `length` bytes. */
function repeatTo(src: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let off = 0; off < length; off += src.length) src.copy(out, off, 0, Math.min(src.length, length - off));
  return out;
}

function encode(v: Variant, d: Buffer): string {
  const at = (i: number): number => (i < 0 ? 0 : (d[i] ?? 0));
  let out = '';
  for (const [x, y, z] of v.order) out += encode24(at(x), at(y), at(z), 4);
  const [x, y, z, n] = v.tail;
  return out + encode24(at(x), at(y), at(z), n);
}
