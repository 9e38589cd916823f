import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidInput, TempFailure } from '../../src/core/errors.js';
import { MAX_PASSWORD_BYTES, PasswordHasher, SCHEMES, type SchemeName } from '../../src/directory/schemes/index.js';
import { SCHEME_IMPLS } from '../../src/directory/schemes/registry.js';
import { LONG_PASSWORD } from './helpers.js';

const C = '[./0-9A-Za-z]';
const FORMAT: Record<SchemeName, RegExp> = {
  'SHA512-CRYPT': new RegExp(`^\\{SHA512-CRYPT\\}\\$6\\$${C}{16}\\$${C}{86}$`),
  'SHA256-CRYPT': new RegExp(`^\\{SHA256-CRYPT\\}\\$5\\$${C}{16}\\$${C}{43}$`),
  'MD5-CRYPT': new RegExp(`^\\{MD5-CRYPT\\}\\$1\\$${C}{8}\\$${C}{22}$`),
  'BLF-CRYPT': new RegExp(`^\\{BLF-CRYPT\\}\\$2y\\$10\\$${C}{53}$`),
  SHA512: /^\{SHA512\}[A-Za-z0-9+/]{86}==$/,
  SSHA512: /^\{SSHA512\}[A-Za-z0-9+/]{91}=$/,
  ARGON2I: /^\{ARGON2I\}\$argon2i\$v=19\$m=32768,t=4,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/,
  ARGON2ID: /^\{ARGON2ID\}\$argon2id\$v=19\$m=65536,t=3,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/,
  PLAIN: /^\{PLAIN\}/,
};

describe('PasswordHasher', () => {
  const hasher = new PasswordHasher({ defaultScheme: 'SHA512-CRYPT', workers: 2 });
  afterAll(() => hasher.close());
  afterEach(() => vi.restoreAllMocks());

  it('writes each scheme in the format Dovecot writes', async () => {
    for (const s of SCHEMES) expect(await hasher.hash('pässwörd✓', s), s).toMatch(FORMAT[s]);
    expect(await hasher.hash('pw')).toMatch(FORMAT['SHA512-CRYPT']);
    expect(await hasher.hash('pässwörd✓', 'PLAIN')).toBe('{PLAIN}pässwörd✓');
  });

  it('uses a fresh salt each time', async () => {
    for (const s of SCHEMES.filter((s) => s !== 'PLAIN' && s !== 'SHA512')) {
      expect(await hasher.hash('same', s), s).not.toBe(await hasher.hash('same', s));
    }
  });

  it('round-trips every scheme; wrong passwords fail', async () => {
    for (const s of SCHEMES) {
      for (const pw of ['pässwörd✓', 'ascii only', '', ' ']) {
        const stored = await hasher.hash(pw, s);
        expect(await hasher.verify(stored, pw), `${s} ${JSON.stringify(pw)}`).toBe(true);
        for (const wrong of [`${pw}x`, `x${pw}`, pw.toUpperCase() === pw ? `${pw}Z` : pw.toUpperCase()]) {
          expect(await hasher.verify(stored, wrong), `${s} ${JSON.stringify(pw)} vs ${JSON.stringify(wrong)}`).toBe(false);
        }
      }
    }
  });

  it('handles a 10 KB password in every scheme', async () => {
    for (const s of SCHEMES) {
      const stored = await hasher.hash(LONG_PASSWORD, s);
      expect(await hasher.verify(stored, LONG_PASSWORD), s).toBe(true);
      expect(await hasher.verify(stored, `x${LONG_PASSWORD.slice(1)}`), s).toBe(false);
    }
  });

  it('refuses passwords over MAX_PASSWORD_BYTES without hashing them', async () => {
    const huge = 'a'.repeat(MAX_PASSWORD_BYTES + 1);
    await expect(hasher.hash(huge, 'PLAIN')).rejects.toBeInstanceOf(InvalidInput);
    expect(await hasher.verify(`{PLAIN}${huge}`, huge)).toBe(false);
  });

  it('verifies hashes stored without a prefix under each default scheme', async () => {
    for (const s of SCHEMES) {
      const bare = (await hasher.hash('pässwörd✓', s)).slice(s.length + 2);
      const h = new PasswordHasher({ defaultScheme: s, workers: 1 });
      try {
        expect(await h.verify(bare, 'pässwörd✓'), s).toBe(true);
        expect(await h.verify(bare, 'wrong'), s).toBe(false);
      } finally {
        await h.close();
      }
    }
  });

  it('throws InvalidInput for an unknown scheme, in verify() and hash()', async () => {
    await expect(hasher.verify('{NOPE}abc', 'abc')).rejects.toBeInstanceOf(InvalidInput);
    await expect(hasher.verify('{CRYPT}abDEFghIJklm.', 'abc')).rejects.toBeInstanceOf(InvalidInput);
    await expect(hasher.hash('abc', 'NOPE' as SchemeName)).rejects.toBeInstanceOf(InvalidInput);
  });

  it('answers false, never throws, for malformed hashes of a known scheme', async () => {
    for (const stored of ['{SHA512-CRYPT}garbage', '{BLF-CRYPT}$2y$xx$', '{BLF-CRYPT}$6$abc$def', '{ARGON2ID}$argon2id$v=19$broken',
      '{SHA512}!!!', '{SSHA512}c2hvcnQ=', '{MD5-CRYPT}$apr1$md5salt8$eLOPbD1Q9iyrCmNUvdTmS0', '{SHA512-CRYPT}']) {
      expect(await hasher.verify(stored, 'pw'), stored).toBe(false);
    }
  });
});

describe('PasswordHasher verify cache', () => {
  const STORED = '{SHA512-CRYPT}$6$sdcbbba29dadb$8v4kUDpNbP5TdjI6RuJYSoALH6R8G58m7BBvic2oBk7hGgSc4xVL6ueCjpA9k.QFvhdEAh/L.Bu0V7lKn4ntA0';
  afterEach(() => vi.restoreAllMocks());

  it('remembers successes only, keyed on both the stored hash and the password', async () => {
    const h = new PasswordHasher({ defaultScheme: 'SHA512-CRYPT' });
    const spy = vi.spyOn(SCHEME_IMPLS['SHA512-CRYPT'], 'verify');
    try {
      expect(await h.verify(STORED, 'alice-pass')).toBe(true);
      expect(await h.verify(STORED, 'alice-pass')).toBe(true);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(await h.verify(STORED, 'wrong')).toBe(false);
      expect(await h.verify(STORED, 'wrong')).toBe(false);
      expect(spy).toHaveBeenCalledTimes(3);
      // A changed stored hash (same password) must be computed again.
      const other = await h.hash('alice-pass', 'SHA512-CRYPT');
      expect(await h.verify(other, 'alice-pass')).toBe(true);
      expect(spy).toHaveBeenCalledTimes(4);
    } finally {
      await h.close();
    }
  });

  it('can be disabled with cacheTtlMs: 0', async () => {
    const off = new PasswordHasher({ defaultScheme: 'SHA512-CRYPT', cacheTtlMs: 0 });
    const spy = vi.spyOn(SCHEME_IMPLS['SHA512-CRYPT'], 'verify');
    try {
      await off.verify(STORED, 'alice-pass');
      await off.verify(STORED, 'alice-pass');
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      await off.close();
    }
  });

  it('shares one computation among identical concurrent verifications', async () => {
    const h = new PasswordHasher({ defaultScheme: 'SHA512-CRYPT', cacheTtlMs: 0 });
    const spy = vi.spyOn(SCHEME_IMPLS['SHA512-CRYPT'], 'verify');
    try {
      const results = await Promise.all(Array.from({ length: 10 }, () => h.verify(STORED, 'alice-pass')));
      expect(results).toEqual(Array(10).fill(true));
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      await h.close();
    }
  });
});

describe('PasswordHasher.close', () => {
  it('rejects later calls with TempFailure', async () => {
    const h = new PasswordHasher({ defaultScheme: 'PLAIN' });
    expect(await h.verify('{PLAIN}x', 'x')).toBe(true);
    await h.close();
    await expect(h.verify('{PLAIN}x', 'x')).rejects.toBeInstanceOf(TempFailure);
    await expect(h.hash('x')).rejects.toBeInstanceOf(TempFailure);
  });
});
