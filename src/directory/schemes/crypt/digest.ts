import * as crypto from 'node:crypto';

/**
 * One-shot digest. `crypto.hash` (Node >= 20.12) skips the Hash object and is markedly faster
 * for the thousands of tiny inputs of SHA-crypt; older Node 20 releases fall back to createHash.
 */
export const digest: (algo: string, data: Buffer) => Buffer =
  typeof crypto.hash === 'function'
    ? (algo, data) => crypto.hash(algo, data, 'buffer')
    : (algo, data) => crypto.createHash(algo).update(data).digest();
