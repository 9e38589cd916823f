import { describe, expect, it } from 'vitest';
import { badLocalPart, isBarePostmaster, postmasterAddress } from '../../src/protocols/smtp/envelope-address.js';

describe('envelope addresses', () => {
  it('sends a bare postmaster to postmaster@$mydomain (the host name minus its first label)', () => {
    expect(postmasterAddress('mx.example.test')).toBe('postmaster@example.test');
    expect(postmasterAddress('Mail.Example.COM.')).toBe('postmaster@example.com');
    // mydomain would be a bare TLD: the host name itself
    expect(postmasterAddress('example.com')).toBe('postmaster@example.com');
    expect(isBarePostmaster('PostMaster')).toBe(true);
    expect(isBarePostmaster('postmaster@example.com')).toBe(false);
  });

  it('calls an unusable local part a syntax error and leaves domain-less addresses to the FQDN checks', () => {
    expect(badLocalPart(`${'a'.repeat(65)}@example.com`)).toBe(true);
    expect(badLocalPart(`${'a'.repeat(64)}@example.com`)).toBe(false);
    expect(badLocalPart('a/b@example.com')).toBe(true);
    expect(badLocalPart('a..b@example.com')).toBe(true);
    expect(badLocalPart('bob')).toBe(false);
    expect(badLocalPart('bob@localhost')).toBe(false);
    expect(badLocalPart('')).toBe(false);
  });
});
