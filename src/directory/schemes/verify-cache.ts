import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/**
 * Remembers successful verifications for a short while, so a client that logs in again and
 * again (IMAP clients open several connections, POP3 polls) pays the slow hash once per TTL.
 *
 * The key is SHA-256 over the stored hash and the password, so a changed password or a changed
 * stored hash never hits, and the cache holds no plaintext. (Anyone who can read this process's
 * memory could test guesses against a key at SHA-256 speed; they could also read passwords in flight.) The stored hash is length-prefixed
 * so that no (stored, password) pair can be shifted into another at the NUL separator.
 * Failures are never cached: a wrong guess must always cost the full hash.
 */
export class VerifyCache {
  readonly #lru: LRUCache<string, true> | null;

  /** `now` is a monotonic millisecond clock, injectable for tests; 0 `ttlMs` disables the cache. */
  constructor(ttlMs: number, opts: { maxEntries?: number; now?: () => number } = {}) {
    const { maxEntries = 10_000, now } = opts;
    this.#lru =
      ttlMs > 0
        ? new LRUCache<string, true>({
            max: maxEntries,
            ttl: ttlMs,
            // Read the clock on every check: the default 1 ms memo arms a timer per read and
            // would hide an injected clock's jumps.
            ttlResolution: 0,
            ...(now ? { perf: { now } } : {}),
          })
        : null;
  }

  static key(stored: string, password: string | Buffer): string {
    return createHash('sha256')
      .update(`${Buffer.byteLength(stored)}:${stored}\0`)
      .update(password)
      .digest('base64');
  }

  has(key: string): boolean {
    return this.#lru?.get(key) === true;
  }

  remember(key: string): void {
    this.#lru?.set(key, true);
  }

  clear(): void {
    this.#lru?.clear();
  }
}
