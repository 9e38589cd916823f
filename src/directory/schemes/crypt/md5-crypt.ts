import { createHash } from 'node:crypto';
import { encode24 } from './base64.js';

/**
 * MD5-crypt, `$1$salt$hash` (Poul-Henning Kamp's FreeBSD algorithm, as in glibc and in Dovecot's
 * own password-scheme-md5crypt.c). Not Apache's `$apr1$`, which differs only in the magic string
 * and must not verify here. The salt is cut at the first `$` and at 8 characters.
 */

const MAGIC = Buffer.from('$1$');
const SALT_MAX = 8;
const ROUNDS = 1000;
const ORDER: readonly (readonly [number, number, number])[] = [
  [0, 6, 12],
  [1, 7, 13],
  [2, 8, 14],
  [3, 9, 15],
  [4, 10, 5],
];

export function isMd5CryptSetting(setting: string): boolean {
  return setting.startsWith('$1$');
}

/** crypt(3) for `$1$` settings; `password` is the raw bytes (UTF-8 for text). */
export function md5Crypt(password: Buffer, setting: string): string {
  if (!isMd5CryptSetting(setting)) throw new Error('not an MD5-crypt setting');
  const rest = setting.slice(3);
  const dollar = rest.indexOf('$');
  const saltText = (dollar === -1 ? rest : rest.slice(0, dollar)).slice(0, SALT_MAX);
  const s = Buffer.from(saltText, 'latin1');
  const p = password;

  const alt = createHash('md5').update(p).update(s).update(p).digest();
  const ctx = createHash('md5').update(p).update(MAGIC).update(s);
  for (let n = p.length; n > 0; n -= 16) ctx.update(alt.subarray(0, Math.min(16, n)));
  // The original code meant to add p[0] but added a NUL byte for set bits; every implementation keeps the quirk.
  const zero = Buffer.alloc(1);
  const first = p.subarray(0, 1);
  for (let n = p.length; n > 0; n >>>= 1) ctx.update(n & 1 ? zero : first);
  let f = ctx.digest();

  for (let i = 0; i < ROUNDS; i++) {
    const c = createHash('md5');
    c.update(i & 1 ? p : f);
    if (i % 3 !== 0) c.update(s);
    if (i % 7 !== 0) c.update(p);
    c.update(i & 1 ? f : p);
    f = c.digest();
  }

  const at = (i: number): number => f[i] ?? 0;
  let out = '';
  for (const [x, y, z] of ORDER) out += encode24(at(x), at(y), at(z), 4);
  out += encode24(0, 0, at(11), 2);
  return `$1$${saltText}$${out}`;
}
