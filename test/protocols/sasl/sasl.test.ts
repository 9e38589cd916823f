import { describe, expect, it } from 'vitest';
import { decodeBase64 } from '../../../src/protocols/sasl/base64.js';
import { SaslExchange } from '../../../src/protocols/sasl/exchange.js';
import { decodePlain } from '../../../src/protocols/sasl/plain.js';
import { parseUsername } from '../../../src/protocols/sasl/username.js';

const msg = (...parts: (string | Buffer)[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));

describe('SASL PLAIN (RFC 4616)', () => {
  it('keeps the password as bytes, never U+FFFD', () => {
    const out = decodePlain(msg('\0alice@example.test\0', Buffer.from([0x70, 0xe9, 0xff])));
    expect(out).toMatchObject({ kind: 'credentials', credentials: { username: 'alice@example.test', authzid: '' } });
    if (out.kind !== 'credentials') throw new Error('unreachable');
    expect([...out.credentials.password]).toEqual([0x70, 0xe9, 0xff]);
  });

  it('refuses an authzid other than the login, takes an equal one', () => {
    expect(decodePlain(msg('user99@example.test\0user14@example.test\0pw'))).toEqual({ kind: 'refused', reason: 'authzid not allowed', username: 'user14@example.test' });
    expect(decodePlain(msg('USER14@example.test\0user14@example.test\0pw')).kind).toBe('refused');
    expect(decodePlain(msg('a@x.test\0a@x.test\0pw'))).toMatchObject({ kind: 'credentials', credentials: { authzid: 'a@x.test' } });
  });

  it('refuses malformed messages and unusable names (no fallback to the authzid)', () => {
    for (const bad of ['alice@x.test\0\0pw', 'no-nul', 'a\0b', 'a\0b\0c\0d', '\0 alice@x.test\0pw', '\0alice@x.test \0pw', '\0ali\u0085ce@x.test\0pw']) {
      expect(decodePlain(msg(bad)).kind, JSON.stringify(bad)).toBe('refused');
    }
    expect(decodePlain(msg('\0', Buffer.from([0xc3, 0x28]), '\0pw'))).toMatchObject({ kind: 'refused', reason: 'user name is not UTF-8' });
  });
});

describe('SASL user names', () => {
  it('never trims', () => {
    expect(parseUsername(Buffer.from(' a@x.test'))).toMatchObject({ ok: false, name: ' a@x.test' });
    expect(parseUsername(Buffer.from('a@x.test\u00a0'))).toMatchObject({ ok: false });
    expect(parseUsername(Buffer.from('a b@x.test'))).toEqual({ ok: true, name: 'a b@x.test' });
    expect(parseUsername(Buffer.from('ü@x.test'))).toEqual({ ok: true, name: 'ü@x.test' });
  });
});

describe('SASL base64', () => {
  it('is strict', () => {
    expect(decodeBase64('YWJj')?.toString()).toBe('abc');
    expect(decodeBase64('YWI=')?.toString()).toBe('ab');
    expect(decodeBase64('')?.length).toBe(0);
    for (const bad of ['YWJ', 'YW=j', '!!!!', 'YWJj ', 'YW Jj', 'YWI==', 'YQ']) expect(decodeBase64(bad), bad).toBeNull();
  });
});

describe('SASL exchange', () => {
  const b64 = (s: string | Buffer) => Buffer.from(s as string).toString('base64');

  it('PLAIN with an initial response, after an empty challenge, and cancelled', () => {
    expect(SaslExchange.start('PLAIN', b64('\0a@x.test\0pw')).step).toMatchObject({ kind: 'done', outcome: { kind: 'credentials' } });
    const { exchange, step } = SaslExchange.start('PLAIN');
    expect(step).toEqual({ kind: 'challenge', data: Buffer.alloc(0) });
    expect(exchange.respond('*')).toEqual({ kind: 'done', outcome: { kind: 'aborted' } });
    // RFC 4954 4: "=" is an empty initial response (and an empty PLAIN message is no login)
    expect(SaslExchange.start('PLAIN', '=').step).toMatchObject({ kind: 'done', outcome: { kind: 'refused' } });
    expect(SaslExchange.start('PLAIN', 'not base64!').step).toMatchObject({ kind: 'done', outcome: { kind: 'refused', reason: 'invalid base64 data' } });
  });

  it('LOGIN asks Username: then Password:, the initial response being the user name', () => {
    const { exchange, step } = SaslExchange.start('LOGIN');
    expect(step).toEqual({ kind: 'challenge', data: Buffer.from('Username:') });
    expect(exchange.respond(b64('a@x.test'))).toEqual({ kind: 'challenge', data: Buffer.from('Password:') });
    const done = exchange.respond(Buffer.from([0xe9]).toString('base64'));
    expect(done).toMatchObject({ kind: 'done', outcome: { kind: 'credentials', credentials: { mechanism: 'LOGIN', username: 'a@x.test' } } });
    const quick = SaslExchange.start('LOGIN', b64('a@x.test'));
    expect(quick.step).toEqual({ kind: 'challenge', data: Buffer.from('Password:') });
    expect(SaslExchange.start('LOGIN', b64('a@x.test ')).step).toMatchObject({ kind: 'done', outcome: { kind: 'refused', username: 'a@x.test ' } });
  });
});
