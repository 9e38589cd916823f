import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImapDaemon, type ImapDaemon } from '../../helpers/imap-daemon.js';
import { RawImap } from '../../helpers/imap-raw.js';
import { SmtpClient } from '../../helpers/smtp-daemon.js';
import { tempDir } from '../../helpers/tmp.js';

describe('IMAP logins through the shared guard: bans shared with submission', () => {
  let d: ImapDaemon;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    // 127.0.0.1 is not exempt here, so that it can be banned
    d = await startImapDaemon(t.dir, { security: { ignoreip: [], auth_max_failures: 2 } });
  }, 30_000);
  afterAll(async () => {
    await d?.stop();
    await cleanup?.();
  });

  it('bans an IP after failed IMAP logins: other IMAP sessions close and submission refuses it too', async () => {
    const { client: other } = await RawImap.connect(d.imapPort);
    const { client } = await RawImap.connect(d.imapPort);
    expect(await client.command('a', 'LOGIN alice@example.test nope')).toEqual(['a NO [AUTHENTICATIONFAILED] Authentication failed.']);
    expect(await client.command('b', 'LOGIN alice@example.test nope')).toEqual(['b NO [AUTHENTICATIONFAILED] Authentication failed.']);
    // the ban closes the other session of this IP at once
    expect(await other.waitClosed(5000)).toBe(true);
    expect(other.all).toMatch(/\* BYE Too many failed logins\.\r\n$/);
    // the right password does not help now
    expect(await client.command('c', 'LOGIN alice@example.test alice-pw')).toEqual(['c NO [AUTHENTICATIONFAILED] Authentication failed.']);
    const { greeting } = await RawImap.connect(d.imapPort);
    expect(greeting).toBe('* BYE Too many failed logins, try again later.');
    const smtp = await SmtpClient.connect(d.ports.submission);
    expect(smtp.all).toMatch(/^421 /);
    smtp.close();
  });
});

describe('IMAP login while the directory is down', () => {
  let d: ImapDaemon;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    d = await startImapDaemon(t.dir, {
      directory: { backend: 'mysql', auth_cache_ttl: 0 },
      'directory.mysql': { socket: path.join(t.dir, 'no-such-mysql.sock'), connect_timeout: 1, query_timeout: 1 },
    });
  }, 30_000);
  afterAll(async () => {
    await d?.stop();
    await cleanup?.();
  });

  it('answers NO [UNAVAILABLE] and keeps the connection', async () => {
    const { client } = await RawImap.connect(d.imapPort);
    expect(await client.command('a', 'LOGIN alice@example.test alice-pw')).toEqual(['a NO [UNAVAILABLE] Temporary authentication failure.']);
    expect(await client.command('b', `AUTHENTICATE PLAIN ${Buffer.from('\0alice@example.test\0alice-pw').toString('base64')}`)).toEqual(['b NO [UNAVAILABLE] Temporary authentication failure.']);
    expect(await client.command('n', 'NOOP')).toEqual(['n OK NOOP completed.']);
    client.close();
  });
});

describe('IMAP connection limits', () => {
  let d: ImapDaemon;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    d = await startImapDaemon(t.dir, { imap: { client_connection_limit: 2 } });
  }, 30_000);
  afterAll(async () => {
    await d?.stop();
    await cleanup?.();
  });

  it('turns a client over imap.client_connection_limit away with BYE [UNAVAILABLE]', async () => {
    const open = await Promise.all([RawImap.connect(d.imapPort), RawImap.connect(d.imapPort)]);
    const { greeting } = await RawImap.connect(d.imapPort);
    expect(greeting).toBe('* BYE [UNAVAILABLE] Too many connections, try again later.');
    for (const o of open) o.client.close();
  });
});
