import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { Listener } from '../../src/daemon/listener.js';
import { TLS_CIPHERS, TlsCertificates } from '../../src/daemon/tls.js';
import { PasswordHasher } from '../../src/directory/schemes/index.js';
import { SubmissionService } from '../../src/protocols/smtp/submission.js';
import { LoginService } from '../../src/protocols/sasl/login-service.js';
import { Router } from '../../src/delivery/routing.js';
import { Spool } from '../../src/queue/spool.js';
import { AuthGuard } from '../../src/security/auth-guard.js';
import { NetworkList } from '../../src/core/cidr.js';
import { RawClient } from '../helpers/raw-smtp.js';
import { mailFixture } from '../helpers/mail-fixture.js';
import { tempDir } from '../helpers/tmp.js';

describe('submission (587 STARTTLS, 465 TLS)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let hasher: PasswordHasher;
  let guard: AuthGuard;
  const listeners: Listener[] = [];
  let port587: number;
  let port465: number;
  const maildir = (u: string) => path.join(dir, 'vmail/example.test', u);
  const messages = async (u: string) => {
    const files = await readdir(path.join(maildir(u), 'new')).catch(() => [] as string[]);
    return Promise.all(files.map((f) => readFile(path.join(maildir(u), 'new', f), 'utf8')));
  };
  const queued = async () => {
    const q = path.join(dir, 'queue/queued');
    const names = (await readdir(q).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));
    return Promise.all(names.map(async (n) => ({
      envelope: JSON.parse(await readFile(path.join(q, n), 'utf8')) as { from: string; to: string[] },
      message: await readFile(path.join(q, n.slice(0, -5)), 'utf8'),
    })));
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    const fx = await mailFixture(dir, 'alice@example.test:{PLAIN}alice-pw:::::\nbob@example.test:{PLAIN}bob-pw:::::\n', 'info@example.test alice@example.test\n');
    const { directory, delivery } = fx;
    hasher = fx.hasher;
    const spool = new Spool(path.join(dir, 'queue'));
    await spool.init();
    const certs = new TlsCertificates({ cert: '', key: '', dataDir: dir, hostname: 'mail.example.test' }, silentLogger);
    await certs.reload();
    // 127.0.0.1 is not ignored here, so the ban can be tested; delays kept short for the test
    guard = new AuthGuard({ maxFailures: 4, windowMs: 600_000, banMs: 3_600_000, ignore: new NetworkList([]), failureDelayMs: 10, maxDelayMs: 50 });
    const login = new LoginService({ guard, directory, log: silentLogger });
    for (const implicitTls of [false, true]) {
      const service = new SubmissionService({
        hostname: 'mail.example.test', maxMessageSize: 100_000, implicitTls, rejectSenderLoginMismatch: true, login,
        directory, router: new Router(delivery, spool, undefined, silentLogger), log: silentLogger,
        tls: { options: () => ({ ...certs.serverOptions(), minVersion: 'TLSv1.2', ciphers: TLS_CIPHERS }), attach: (s) => certs.attach(s) },
      });
      const l = new Listener({
        name: implicitTls ? 'submissions' : 'submission', address: { kind: 'tcp', host: '127.0.0.1', port: 0 },
        tls: implicitTls ? { options: () => certs.serverOptions(), attach: (s) => certs.attach(s) } : undefined,
        handler: (s, adopt) => service.handle(s, adopt),
      }, silentLogger);
      await l.start();
      listeners.push(l);
    }
    [port587, port465] = listeners.map((l) => l.port!) as [number, number];
  });
  afterAll(async () => {
    for (const l of listeners) {
      await l.stop(0);
      expect(l.connections).toBe(0);
    }
    await hasher.close();
    await cleanup();
  });

  const client = (port: number, user: string, pass: string) => nodemailer.createTransport({
    host: '127.0.0.1', port, secure: port === port465, requireTLS: port !== port465, tls: { rejectUnauthorized: false },
    auth: { user, pass }, name: 'laptop.example.test',
  });

  it('refuses AUTH before STARTTLS (538 5.7.11) and MAIL before AUTH (530 5.7.0)', async () => {
    const c = await RawClient.connect(port587);
    c.send('EHLO laptop.example.test\r\n');
    await c.replies(1);
    expect(c.all).toContain('STARTTLS');
    c.send(`AUTH PLAIN ${Buffer.from('\0alice@example.test\0alice-pw').toString('base64')}\r\n`);
    expect((await c.replies(1))[0]).toMatch(/^538 5\.7\.11 /);
    c.send('MAIL FROM:<alice@example.test>\r\n');
    expect((await c.replies(1))[0]).toMatch(/^530 5\.7\.0 /);
    c.socket.destroy();
  });

  it('sends for an authenticated user: local recipients delivered, others spooled durably', async () => {
    for (const port of [port587, port465]) {
      const info = await client(port, 'alice@example.test', 'alice-pw').sendMail({
        envelope: { from: 'alice@example.test', to: ['bob@example.test', 'friend@elsewhere.example'] },
        raw: `From: Alice <alice@example.test>\r\nTo: bob@example.test, friend@elsewhere.example\r\nSubject: hi from ${port}\r\n\r\nhello\r\n`,
      });
      expect(info.accepted).toEqual(['bob@example.test', 'friend@elsewhere.example']);
      const got = (await messages('bob')).find((t) => t.includes(`Subject: hi from ${port}`));
      expect(got).toMatch(/\(Authenticated sender: alice@example\.test\)/);
      const q = (await queued()).find((m) => m.message.includes(`Subject: hi from ${port}`));
      expect(q?.envelope).toMatchObject({ from: 'alice@example.test', to: ['friend@elsewhere.example'] });
      expect(q?.message).toMatch(/^Received: from laptop\.example\.test/);
    }
    expect(await readdir(path.join(dir, 'queue/tmp'))).toEqual([]);
  });

  it('refuses wrong passwords (535 5.7.8)', async () => {
    await expect(client(port587, 'alice@example.test', 'wrong').verify()).rejects.toMatchObject({ responseCode: 535 });
    await expect(client(port465, 'nobody@example.test', 'x').verify()).rejects.toMatchObject({ responseCode: 535 });
  });

  it('lets users send only as their own addresses and aliases (553 5.7.1), envelope and From', async () => {
    const alice = client(port587, 'alice@example.test', 'alice-pw');
    await expect(alice.sendMail({ envelope: { from: 'bob@example.test', to: ['bob@example.test'] }, raw: 'From: bob@example.test\r\nSubject: spoof\r\n\r\nx\r\n' }))
      .rejects.toMatchObject({ responseCode: 553 });
    await expect(alice.sendMail({ envelope: { from: 'alice@example.test', to: ['bob@example.test'] }, raw: 'From: Bob <bob@example.test>\r\nSubject: spoof2\r\n\r\nx\r\n' }))
      .rejects.toMatchObject({ responseCode: 553 });
    // an alias that resolves to alice, and a plus address, are hers
    await alice.sendMail({ envelope: { from: 'info@example.test', to: ['bob@example.test'] }, raw: 'From: info@example.test\r\nSubject: as alias\r\n\r\nx\r\n' });
    await alice.sendMail({ envelope: { from: 'alice+lists@example.test', to: ['bob@example.test'] }, raw: 'From: alice+lists@example.test\r\nSubject: as plus\r\n\r\nx\r\n' });
    const bob = await messages('bob');
    expect(bob.some((t) => t.includes('spoof'))).toBe(false);
    expect(bob.some((t) => t.includes('as alias'))).toBe(true);
    expect(bob.some((t) => t.includes('as plus'))).toBe(true);
    expect((await queued()).some((m) => m.message.includes('spoof'))).toBe(false);
  });

  it('bans an address after repeated failed logins (421), shared by 587 and 465', async () => {
    expect(guard.isBanned('127.0.0.1')).toBe(false);
    // failures so far in this file: 2 (wrong passwords test); two more reach the threshold of 4
    // (successful logins in between do not reset the count, as with fail2ban)
    await expect(client(port465, 'bob@example.test', 'nope').verify()).rejects.toMatchObject({ responseCode: 535 });
    await expect(client(port587, 'bob@example.test', 'nope').verify()).rejects.toMatchObject({ responseCode: 535 });
    expect(guard.isBanned('127.0.0.1')).toBe(true);
    const c = await RawClient.connect(port587).catch((e: Error) => e);
    if (c instanceof RawClient) {
      expect(c.all).toMatch(/^421 4\.7\.0 /);
      c.socket.destroy();
    }
    // even the right password is refused while banned
    await expect(client(port587, 'bob@example.test', 'bob-pw').verify()).rejects.toMatchObject({ responseCode: 421 });
  });
});
