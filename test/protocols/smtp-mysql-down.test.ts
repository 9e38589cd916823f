/**
 * The real tsmail process on the MySQL directory (seed 001's schema, `linode` preset) while its
 * private MariaDB hangs (SIGSTOP) or dies (SIGKILL): every SMTP-family listener answers with a
 * temporary error — port 25 and LMTP RCPT `451 4.3.0`, submission AUTH `454 4.7.0`, MAIL of a
 * logged-in user `451 4.3.0` — and never a 5xx that would bounce the mail or fail the login for
 * good. Once MariaDB is back the same commands succeed, without restarting tsmail.
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mariadbSkipReason, startMariaDb, type MariaDb } from '../helpers/mariadb.js';
import { SmtpClient, startSmtpDaemon, type SmtpDaemon } from '../helpers/smtp-daemon.js';
import { fixturesDir, tempDir } from '../helpers/tmp.js';

const skip = mariadbSkipReason();

// Fixture users of linode.sql (SHA512-CRYPT).
const ALICE = { user: 'paula@lakeside.example', pass: 'pebble-paula' };
const BOB = { user: 'quinn@lakeside.example', pass: 'quartz-quinn' };

describe.skipIf(skip !== null)('SMTP listeners while MySQL is down', () => {
  let db: MariaDb;
  let d: SmtpDaemon;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    let dir: string;
    [db, { dir, cleanup }] = await Promise.all([startMariaDb(), tempDir()]);
    await db.createDatabase('mailserver');
    await db.loadSql(path.join(fixturesDir, 'schemas', 'linode.sql'), 'mailserver');
    d = await startSmtpDaemon(dir, '', {
      directory: { backend: 'mysql', default_pass_scheme: 'SHA512-CRYPT', auth_cache_ttl: 0 },
      // Short timeouts keep each failing command to a second or two.
      'directory.mysql': {
        socket: db.socket, user: db.user, password: db.password, database: 'mailserver', preset: 'linode',
        connect_timeout: 1, query_timeout: 1, pool_size: 4,
      },
    });
  });
  // A failed test must not leave the next one without a server.
  afterEach(async () => {
    db?.thaw();
    if (db && !db.running) await db.restart();
  });
  afterAll(async () => {
    if (d) {
      expect(d.running.proc.exitCode).toBeNull();
      expect(await d.stop()).toBe(0);
    }
    await db?.destroy();
    await cleanup?.();
  });

  async function rcpt(kind: 'smtp' | 'lmtp', address: string): Promise<string> {
    const c = await SmtpClient.connect(d.ports[kind]);
    try {
      expect(await c.command(`${kind === 'lmtp' ? 'LHLO' : 'EHLO'} client.remote.example`)).toMatch(/^250[ -]/);
      expect(await c.command('MAIL FROM:<someone@remote.example>')).toMatch(/^250 /);
      return await c.command(`RCPT TO:<${address}>`);
    } finally {
      c.close();
    }
  }

  async function login(who: { user: string; pass: string }): Promise<{ reply: string; client: SmtpClient }> {
    const client = await SmtpClient.connectTls(d.ports.submissions);
    await client.command('EHLO laptop.example.test');
    return { reply: await client.auth(who.user, who.pass), client };
  }

  /** What each listener answers while MySQL is away; `held` logged in before it went. */
  async function duringOutage(held: SmtpClient): Promise<void> {
    for (const kind of ['smtp', 'lmtp'] as const) {
      expect(await rcpt(kind, ALICE.user), `${kind} RCPT of a known user`).toMatch(/^451 4\.3\.0 /);
      // Unknown or not, nobody can tell now: a 550 here would bounce mail for a real user.
      expect(await rcpt(kind, 'nobody@lakeside.example'), `${kind} RCPT of an unknown user`).toMatch(/^451 4\.3\.0 /);
    }
    const { reply, client } = await login(BOB);
    client.close();
    expect(reply, 'AUTH').toBe('454 4.7.0 Temporary authentication failure');
    expect(await held.command(`MAIL FROM:<${ALICE.user}>`), 'MAIL of a logged-in user').toMatch(/^451 4\.3\.0 /);
  }

  /** The same commands once MySQL is back, on the same process. */
  async function afterRecovery(held: SmtpClient): Promise<void> {
    for (const kind of ['smtp', 'lmtp'] as const) {
      expect(await rcpt(kind, ALICE.user), kind).toMatch(/^250 /);
      expect(await rcpt(kind, 'nobody@lakeside.example'), kind).toMatch(/^550 5\.1\.1 /);
    }
    const { reply, client } = await login(BOB);
    client.close();
    expect(reply).toMatch(/^235 2\.7\.0 /);
    expect(await held.command(`MAIL FROM:<${ALICE.user}>`)).toMatch(/^250 /);
    expect(await held.command('RSET')).toMatch(/^250 /);
  }

  it('hung server (SIGSTOP): 451/454, never 5xx; all fine again once it answers', async () => {
    const { reply, client: held } = await login(ALICE);
    expect(reply).toMatch(/^235 /);
    await afterRecovery(held);
    await db.freeze();
    try {
      await duringOutage(held);
    } finally {
      db.thaw();
    }
    await afterRecovery(held);
    held.close();
  });

  it('dead server (SIGKILL): 451/454, never 5xx; all fine again after its restart', async () => {
    const { reply, client: held } = await login(ALICE);
    expect(reply).toMatch(/^235 /);
    await db.kill();
    await duringOutage(held);
    await db.restart();
    await afterRecovery(held);
    held.close();
  });

  it('delivers end to end again after the outages, without a restart of tsmail', async () => {
    const c = await SmtpClient.connect(d.ports.smtp);
    await c.command('EHLO client.remote.example');
    c.send(`MAIL FROM:<someone@remote.example>\r\nRCPT TO:<hello@lakeside.example>\r\nDATA\r\n`);
    expect(await c.replies(3)).toEqual([expect.stringMatching(/^250 /), expect.stringMatching(/^250 /), expect.stringMatching(/^354 /)]);
    expect(await c.command('Subject: after the outage\r\n\r\nhello\r\n.')).toMatch(/^250 /);
    expect(await c.command('QUIT')).toMatch(/^221 /);
    expect((await d.messages('paula', 'lakeside.example')).filter((m) => m.includes('Subject: after the outage'))).toHaveLength(1);
    // One process all along.
    expect(d.running.logs().filter((l) => l.msg === 'tsmail started')).toHaveLength(1);
  });
});
