import { createHash, randomBytes } from 'node:crypto';
import { constantTimeEqual } from './compare.js';
import type { Scheme } from './scheme.js';

/**
 * `{SSHA512}` = base64(SHA-512(password || salt) || salt). The salt is whatever follows the
 * 64-byte digest, any length. New salts are 4 bytes like Dovecot's, which keeps the value at
 * 88 characters: schemas sized for doveadm's output (e.g. VARCHAR(106)) still fit it.
 */
const DIGEST_LEN = 64;
const SALT_LEN = 4;

function digest(password: Buffer, salt: Buffer): Buffer {
  return createHash('sha512').update(password).update(salt).digest();
}

export const SSHA512: Scheme = {
  name: 'SSHA512',
  async verify(hash, password) {
    const raw = Buffer.from(hash, 'base64');
    if (raw.length <= DIGEST_LEN) return false;
    const salt = raw.subarray(DIGEST_LEN);
    return constantTimeEqual(digest(password, salt), raw.subarray(0, DIGEST_LEN));
  },
  async hash(password) {
    const salt = randomBytes(SALT_LEN);
    return Buffer.concat([digest(password, salt), salt]).toString('base64');
  },
};
