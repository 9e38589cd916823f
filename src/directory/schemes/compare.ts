import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time equality for byte strings of any length (strings are taken as UTF-8). Both sides are reduced to
 * SHA-256 first, so neither the content nor the length of the stored value leaks through timing
 * (timingSafeEqual alone throws on a length mismatch, which is itself a leak).
 */
export function constantTimeEqual(a: string | Buffer, b: string | Buffer): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
