import { Algorithm, hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import type { SchemeName } from './names.js';
import type { Scheme } from './scheme.js';

/**
 * `{ARGON2I}` / `{ARGON2ID}`: the PHC string `$argon2id$v=19$m=..,t=..,p=..$salt$hash`.
 * @node-rs/argon2 runs on libuv's thread pool, so this never blocks the event loop.
 * Either variant verifies under either name: the PHC string says which it is, and Dovecot
 * does the same (`doveadm pw -t '{ARGON2I}$argon2id$...'` verifies).
 */
const PHC = /^\$argon2id?\$/;

interface Cost {
  algorithm: Algorithm;
  memoryCost: number;
  timeCost: number;
}

function argon2Scheme(name: SchemeName, cost: Cost): Scheme {
  return {
    name,
    async verify(hash, password) {
      if (!PHC.test(hash)) return false;
      try {
        return await argon2Verify(hash, password);
      } catch {
        return false;
      }
    },
    hash(password) {
      // 16-byte salt and 32-byte output are the library's defaults and what Dovecot writes.
      return argon2Hash(password, { ...cost, parallelism: 1, outputLen: 32 });
    },
  };
}

// Dovecot 2.3's defaults (libsodium's "interactive" limits), as `doveadm pw` writes them:
// ARGON2I  $argon2i$v=19$m=32768,t=4,p=1$...   ARGON2ID $argon2id$v=19$m=65536,t=3,p=1$...
export const ARGON2I = argon2Scheme('ARGON2I', { algorithm: Algorithm.Argon2i, memoryCost: 32768, timeCost: 4 });
export const ARGON2ID = argon2Scheme('ARGON2ID', { algorithm: Algorithm.Argon2id, memoryCost: 65536, timeCost: 3 });
