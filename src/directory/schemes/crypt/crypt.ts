import { md5Crypt, isMd5CryptSetting } from './md5-crypt.js';
import { shaCrypt, isShaCryptSetting } from './sha-crypt.js';

/**
 * crypt(3) for `$1$`, `$5$` and `$6$`: returns the full hash string for `setting` (a stored hash
 * or a fresh `$id$salt`). Passwords are hashed as the bytes the client sent, as Dovecot receives
 * them (a string is taken as UTF-8).
 * CPU-bound for milliseconds: call it from a worker thread (see pool.ts), not a server's main thread.
 */
export function cryptSync(setting: string, password: string | Uint8Array): string {
  const bytes = typeof password === 'string' ? Buffer.from(password, 'utf8') : Buffer.from(password.buffer, password.byteOffset, password.byteLength);
  if (isShaCryptSetting(setting)) return shaCrypt(bytes, setting);
  if (isMd5CryptSetting(setting)) return md5Crypt(bytes, setting);
  throw new Error(`unsupported crypt(3) setting ${setting.slice(0, 4)}`);
}
