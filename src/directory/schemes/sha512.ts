import { createHash } from 'node:crypto';
import { constantTimeEqual } from './compare.js';
import type { Scheme } from './scheme.js';

/**
 * `{SHA512}` = base64(SHA-512(password)), unsalted. Like Dovecot's password_decode(), a value of
 * exactly 128 hex digits is read as hex (the `{SHA512.HEX}` spelling, also found without suffix).
 */
const HEX_DIGEST = /^[0-9a-fA-F]{128}$/;

function decodeSha512(hash: string): Buffer {
  return HEX_DIGEST.test(hash) ? Buffer.from(hash, 'hex') : Buffer.from(hash, 'base64');
}

export const SHA512: Scheme = {
  name: 'SHA512',
  async verify(hash, password) {
    const stored = decodeSha512(hash);
    if (stored.length !== 64) return false;
    return constantTimeEqual(createHash('sha512').update(password).digest(), stored);
  },
  async hash(password) {
    return createHash('sha512').update(password).digest('base64');
  },
};
