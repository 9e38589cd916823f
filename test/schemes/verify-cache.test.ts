import { describe, expect, it } from 'vitest';
import { VerifyCache } from '../../src/directory/schemes/verify-cache.js';

describe('VerifyCache', () => {
  it('forgets an entry after the TTL', () => {
    let now = 1_000;
    const cache = new VerifyCache(60_000, { now: () => now });
    const key = VerifyCache.key('{PLAIN}x', 'x');
    expect(cache.has(key)).toBe(false);
    cache.remember(key);
    now += 59_000;
    expect(cache.has(key)).toBe(true);
    now += 2_000;
    expect(cache.has(key)).toBe(false);
  });

  it('keys on both the stored hash and the password, without ambiguity at the separator', () => {
    const keys = [
      VerifyCache.key('{PLAIN}a', 'b'),
      VerifyCache.key('{PLAIN}a', 'c'),
      VerifyCache.key('{PLAIN}b', 'b'),
      VerifyCache.key('{PLAIN}a\0b', ''),
      VerifyCache.key('{PLAIN}a', '\0b'),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    expect(VerifyCache.key('{PLAIN}a', 'b')).toBe(keys[0]);
    // A digest, not the password.
    expect(keys[0]).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });

  it('is a no-op with a TTL of 0', () => {
    const cache = new VerifyCache(0);
    const key = VerifyCache.key('s', 'p');
    cache.remember(key);
    expect(cache.has(key)).toBe(false);
  });

  it('is bounded', () => {
    const cache = new VerifyCache(60_000, { maxEntries: 2 });
    const [a, b, c] = ['a', 'b', 'c'].map((p) => VerifyCache.key('s', p)) as [string, string, string];
    cache.remember(a);
    cache.remember(b);
    cache.remember(c);
    expect([cache.has(a), cache.has(b), cache.has(c)]).toEqual([false, true, true]);
  });
});
