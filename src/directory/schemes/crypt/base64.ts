import { randomBytes } from 'node:crypto';

/**
 * The crypt(3) "base64": its own alphabet and little-endian 6-bit groups, not RFC 4648.
 * Shared by MD5-crypt and SHA-crypt, which differ only in how they order the digest bytes.
 */
export const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Encodes the 24-bit value b2:b1:b0 as `chars` characters, least significant 6 bits first. */
export function encode24(b2: number, b1: number, b0: number, chars: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < chars; i++) {
    out += CRYPT_ALPHABET[w & 0x3f];
    w >>>= 6;
  }
  return out;
}

/** A fresh salt of `length` characters; 64 symbols, so masking a random byte is unbiased. */
export function randomCryptSalt(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += CRYPT_ALPHABET[b & 0x3f];
  return out;
}
