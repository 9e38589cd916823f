import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImapDaemon, type ImapDaemon } from '../../helpers/imap-daemon.js';
import { RawImap } from '../../helpers/imap-raw.js';
import { tempDir } from '../../helpers/tmp.js';

const PLAIN = (u: string, p: string) => Buffer.from(`\0${u}\0${p}`).toString('base64');

describe('IMAP login and TLS with the default configuration (no login in clear text on 143)', () => {
  let d: ImapDaemon;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    d = await startImapDaemon(t.dir, { imap: { login_without_tls: false } });
  }, 30_000);
  afterAll(async () => {
    await d?.stop();
    await cleanup?.();
  });

  it('says LOGINDISABLED and no AUTH= before STARTTLS, and refuses LOGIN and AUTHENTICATE', async () => {
    const { client, greeting } = await RawImap.connect(d.imapPort);
    expect(greeting).toBe('* OK [CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE STARTTLS LOGINDISABLED] mx.example.test tsmail ready.');
    expect(await client.command('a', 'LOGIN alice@example.test alice-pw')).toEqual(['a NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.']);
    expect(await client.command('b', `AUTHENTICATE PLAIN ${PLAIN('alice@example.test', 'alice-pw')}`)).toEqual(['b NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.']);
    const secure = await client.startTls();
    expect(await secure.command('c', 'CAPABILITY')).toEqual([
      '* CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE AUTH=PLAIN AUTH=LOGIN',
      'c OK Capability completed.',
    ]);
    expect(await secure.command('d', 'STARTTLS')).toEqual(['d BAD TLS is already active.']);
    const r = await secure.command('e', `AUTHENTICATE PLAIN ${PLAIN('alice@example.test', 'alice-pw')}`);
    expect(r).toEqual(['e OK [CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN SPECIAL-USE CONDSTORE] Logged in']);
    secure.close();
  });

  it('drops commands pipelined after STARTTLS in clear text (no injection into the TLS session)', async () => {
    const { client } = await RawImap.connect(d.imapPort);
    client.send('s STARTTLS\r\nx LOGIN alice@example.test alice-pw\r\n');
    expect(await client.line()).toBe('s OK Begin TLS negotiation now.');
    const tls = await import('node:tls');
    const secure = tls.connect({ socket: client.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    const s = new RawImap(secure);
    expect(await s.command('n', 'NOOP')).toEqual(['n OK NOOP completed.']);
    expect(s.all).not.toMatch(/^x /m);
    s.close();
  });

  it('serves implicit TLS on imaps with AUTH=PLAIN, LOGIN and SASL LOGIN', async () => {
    const { client, greeting } = await RawImap.connect(d.imapsPort, true);
    expect(greeting).toBe('* OK [CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE AUTH=PLAIN AUTH=LOGIN] mx.example.test tsmail ready.');
    client.send('l AUTHENTICATE LOGIN\r\n');
    expect(await client.line()).toBe(`+ ${Buffer.from('Username:').toString('base64')}`);
    client.send(`${Buffer.from('bob@example.test').toString('base64')}\r\n`);
    expect(await client.line()).toBe(`+ ${Buffer.from('Password:').toString('base64')}`);
    client.send(`${Buffer.from('wrong').toString('base64')}\r\n`);
    expect(await client.line()).toBe('l NO [AUTHENTICATIONFAILED] Authentication failed.');
    client.send('m AUTHENTICATE PLAIN\r\n');
    expect(await client.line()).toBe('+ ');
    client.send('*\r\n');
    expect(await client.line()).toBe('m BAD Authentication aborted by client.');
    expect((await client.command('n', 'LOGIN bob@example.test bob-pw')).at(-1)).toMatch(/^n OK \[CAPABILITY .*\] Logged in$/);
    client.close();
    const c = await d.client('bob@example.test', 'bob-pw', { secure: true });
    expect((await c.list()).map((f) => f.path)).toContain('INBOX');
    await c.logout();
    // imapflow upgrades 143 with STARTTLS, then logs in
    const s = await d.client('bob@example.test', 'bob-pw', { starttls: true });
    expect(s.secureConnection).toBe(true);
    expect((await s.list()).map((f) => f.path)).toContain('INBOX');
    await s.logout();
  });
});
