import { describe, expect, it } from 'vitest';
import { isFqdn, normalizeAddress, parseAddress, stripExtension } from '../../src/core/address.js';
import { InvalidInput } from '../../src/core/errors.js';

describe('addresses', () => {
  it('normalizes case and whitespace', () => {
    expect(normalizeAddress(' Alice@Example.TEST ')).toBe('alice@example.test');
    expect(parseAddress('Bob.Smith@Example.test')).toEqual({ local: 'Bob.Smith', domain: 'example.test' });
  });

  it.each([
    ['no at', 'alice'],
    ['empty local', '@example.test'],
    ['empty domain', 'alice@'],
    ['slash', 'a/b@example.test'],
    ['dot dot', '../etc@example.test'],
    ['double dot', 'a..b@example.test'],
    ['leading dot', '.a@example.test'],
    ['NUL', 'a\u0000b@example.test'],
    ['newline', 'a\nb@example.test'],
    ['space', 'a b@example.test'],
    ['quote', "a'\"@example.test"],
    ['sql comment', "' OR 1=1 --@example.test"],
    ['invalid utf-8 replacement char', 'a\ufffd@example.test'],
    ['bad domain', 'a@exa_mple.test'],
    ['domain with slash', 'a@../../etc'],
    ['too long local', `${'x'.repeat(65)}@example.test`],
    ['too long', `a@${'x'.repeat(250)}.test`],
  ])('rejects %s', (_name, input) => {
    expect(() => parseAddress(input)).toThrow(InvalidInput);
  });

  it('accepts internationalized addresses', () => {
    expect(normalizeAddress('Jörg@Bücher.example')).toBe('jörg@bücher.example');
  });

  it('strips the recipient delimiter extension', () => {
    expect(stripExtension('alice+lists', '+')).toBe('alice');
    expect(stripExtension('alice-lists', '+-')).toBe('alice');
    expect(stripExtension('alice', '+')).toBeNull();
    expect(stripExtension('+alice', '+')).toBeNull();
    expect(stripExtension('alice+x', '')).toBeNull();
  });

  it('knows FQDNs', () => {
    expect(isFqdn('mail.example.test')).toBe(true);
    expect(isFqdn('localhost')).toBe(false);
    expect(isFqdn('-bad.example')).toBe(false);
  });
});
