import { randomCryptSalt } from './crypt/base64.js';
import { constantTimeEqual } from './compare.js';
import type { SchemeName } from './names.js';
import type { Scheme } from './scheme.js';

/**
 * The crypt(3) schemes computed in JS (MD5-CRYPT, SHA256-CRYPT, SHA512-CRYPT). Like Dovecot's
 * crypt_verify, verification recomputes crypt(password, stored) and compares the whole string,
 * so the stored salt and rounds= are honoured exactly as libc would.
 */
export function cryptScheme(name: SchemeName, id: '$1$' | '$5$' | '$6$', saltLength: number): Scheme {
  return {
    name,
    async verify(hash, password, ctx) {
      if (!hash.startsWith(id)) return false;
      return constantTimeEqual(await ctx.crypt(hash, password), hash);
    },
    hash(password, ctx) {
      return ctx.crypt(id + randomCryptSalt(saltLength), password);
    },
  };
}
