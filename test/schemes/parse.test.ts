import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../../src/core/errors.js';
import { SCHEMES, isSchemeName, parseStoredPassword } from '../../src/directory/schemes/index.js';

const H6 = '$6$sdcbbba29dadb$8v4kUDpNbP5TdjI6RuJYSoALH6R8G58m7BBvic2oBk7hGgSc4xVL6ueCjpA9k.QFvhdEAh/L.Bu0V7lKn4ntA0';
const H5 = '$5$abcdefgh$qNXW72SHfaFD2.ACK9SSXWiClYmJCnMxwO4IcLuBz71';
const H1 = '$1$abcdefgh$nsTabjkogwC2pLbCSFMRP/';
const H2 = '$2y$10$vUgYutQMMUB1RZVt4UgkW.5eoNGbTnltMQ8HJ52.8LKvN7R0okvbC';
const AI = '$argon2i$v=19$m=32768,t=4,p=1$8iDZnJjUBcC9sVQSXluHQQ$jpiPWDgsCGFjAAFP9MriI5KKY33j7TXBCj+Xx9WGREQ';
const AID = '$argon2id$v=19$m=65536,t=3,p=1$yDmMU5vrWNY9BdNDJyx0Ug$hDfEfnRRLIAY4W+w00C9qUhwmkZaIJ9EPCtoL975REs';

describe('isSchemeName', () => {
  it('accepts exactly the upper-case names', () => {
    for (const s of SCHEMES) expect(isSchemeName(s)).toBe(true);
    expect(isSchemeName('sha512-crypt')).toBe(false);
    expect(isSchemeName('CRYPT')).toBe(false);
  });
});

describe('parseStoredPassword', () => {
  it('splits {SCHEME}hash for every scheme, case-insensitively', () => {
    for (const s of SCHEMES) {
      expect(parseStoredPassword(`{${s}}abc`, 'PLAIN')).toEqual({ scheme: s, hash: 'abc' });
      expect(parseStoredPassword(`{${s.toLowerCase()}}abc`, 'PLAIN')).toEqual({ scheme: s, hash: 'abc' });
    }
  });

  it('maps Dovecot aliases', () => {
    expect(parseStoredPassword('{CLEAR}pw', 'SHA512')).toEqual({ scheme: 'PLAIN', hash: 'pw' });
    expect(parseStoredPassword('{CLEARTEXT}pw', 'SHA512')).toEqual({ scheme: 'PLAIN', hash: 'pw' });
    expect(parseStoredPassword(`{MD5}${H1}`, 'PLAIN')).toEqual({ scheme: 'MD5-CRYPT', hash: H1 });
    expect(parseStoredPassword('{SHA512.b64}abc=', 'PLAIN')).toEqual({ scheme: 'SHA512', hash: 'abc=' });
    expect(parseStoredPassword('{SSHA512.BASE64}abc=', 'PLAIN')).toEqual({ scheme: 'SSHA512', hash: 'abc=' });
    expect(parseStoredPassword('{SSHA512.HEX}00ff10', 'PLAIN')).toEqual({ scheme: 'SSHA512', hash: 'AP8Q' });
  });

  it('lets {CRYPT} and the SHA-crypt names follow the hash $id$, as crypt(3) does for Dovecot', () => {
    const cases = [
      [H6, 'SHA512-CRYPT'],
      [H5, 'SHA256-CRYPT'],
      [H1, 'MD5-CRYPT'],
      [H2, 'BLF-CRYPT'],
      [H2.replace('$2y$', '$2a$'), 'BLF-CRYPT'],
      [H2.replace('$2y$', '$2b$'), 'BLF-CRYPT'],
    ] as const;
    for (const [hash, scheme] of cases) {
      expect(parseStoredPassword(`{CRYPT}${hash}`, 'PLAIN')).toEqual({ scheme, hash });
      expect(parseStoredPassword(`{SHA512-CRYPT}${hash}`, 'PLAIN')).toEqual({ scheme, hash });
      expect(parseStoredPassword(`{SHA256-CRYPT}${hash}`, 'PLAIN')).toEqual({ scheme, hash });
    }
    // Dovecot's MD5-CRYPT and BLF-CRYPT do not switch (doveadm pw -t fails those).
    expect(parseStoredPassword(`{MD5-CRYPT}${H6}`, 'PLAIN').scheme).toBe('MD5-CRYPT');
    expect(parseStoredPassword(`{BLF-CRYPT}${H6}`, 'PLAIN').scheme).toBe('BLF-CRYPT');
    // A name with a hash it cannot read keeps the name (verification then fails, like Dovecot).
    expect(parseStoredPassword('{SHA512-CRYPT}garbage', 'PLAIN')).toEqual({ scheme: 'SHA512-CRYPT', hash: 'garbage' });
  });

  it('lets either ARGON2 name read either variant', () => {
    expect(parseStoredPassword(`{ARGON2I}${AID}`, 'PLAIN')).toEqual({ scheme: 'ARGON2ID', hash: AID });
    expect(parseStoredPassword(`{ARGON2ID}${AI}`, 'PLAIN')).toEqual({ scheme: 'ARGON2I', hash: AI });
  });

  it('uses the default scheme without a prefix', () => {
    expect(parseStoredPassword('secret', 'PLAIN')).toEqual({ scheme: 'PLAIN', hash: 'secret' });
    expect(parseStoredPassword(H6, 'SHA512-CRYPT')).toEqual({ scheme: 'SHA512-CRYPT', hash: H6 });
    expect(parseStoredPassword('abc', 'SHA512')).toEqual({ scheme: 'SHA512', hash: 'abc' });
    // `{` without `}` is not a prefix (Dovecot: "Missing {scheme} prefix").
    expect(parseStoredPassword('{PLAINpw', 'PLAIN')).toEqual({ scheme: 'PLAIN', hash: '{PLAINpw' });
  });

  it('recognises $id$ without a prefix when the default scheme is a $id$ scheme', () => {
    for (const def of ['SHA512-CRYPT', 'SHA256-CRYPT', 'BLF-CRYPT', 'MD5-CRYPT', 'ARGON2I', 'ARGON2ID'] as const) {
      expect(parseStoredPassword(H6, def).scheme).toBe('SHA512-CRYPT');
      expect(parseStoredPassword(H5, def).scheme).toBe('SHA256-CRYPT');
      expect(parseStoredPassword(H2, def).scheme).toBe('BLF-CRYPT');
      expect(parseStoredPassword(AI, def).scheme).toBe('ARGON2I');
      expect(parseStoredPassword(AID, def).scheme).toBe('ARGON2ID');
    }
    // ...but not when the default is a plain digest or PLAIN: "$6$..." is then just a value.
    expect(parseStoredPassword(H6, 'PLAIN').scheme).toBe('PLAIN');
    expect(parseStoredPassword(H6, 'SSHA512').scheme).toBe('SSHA512');
  });

  it('always reads a bare $1$ as MD5-CRYPT and drops what follows the hash, like Dovecot', () => {
    expect(parseStoredPassword(H1, 'PLAIN')).toEqual({ scheme: 'MD5-CRYPT', hash: H1 });
    expect(parseStoredPassword(`${H1}$trailing`, 'SHA512')).toEqual({ scheme: 'MD5-CRYPT', hash: H1 });
  });

  it('throws InvalidInput for unknown schemes and unusable forms', () => {
    for (const bad of ['{FOO}bar', '{}x', '{SHA1}abc', '{CRYPT}abDEFghIJklm.', '{CRYPT}$y$j9T$abc$def', '{PLAIN.HEX}00', '{SHA512.HEX}xyz', '{SHA512.ROT13}x']) {
      expect(() => parseStoredPassword(bad, 'PLAIN'), bad).toThrow(InvalidInput);
    }
  });
});
