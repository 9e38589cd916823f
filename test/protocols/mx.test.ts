import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkList } from '../../src/core/cidr.js';
import { silentLogger } from '../../src/core/logger.js';
import { Listener } from '../../src/daemon/listener.js';
import { TLS_CIPHERS, TlsCertificates } from '../../src/daemon/tls.js';
import { smtpTurnaway } from '../../src/protocols/smtp/turnaway.js';
import { PasswordHasher } from '../../src/directory/schemes/index.js';
import { MxService, type MxPolicy } from '../../src/protocols/smtp/mx.js';
import { Router } from '../../src/delivery/routing.js';
import { DnsSenderDomainCheck } from '../../src/security/sender-domain.js';
import { RateWindow } from '../../src/security/rate-window.js';
import { Spool } from '../../src/queue/spool.js';
import { StaticResolver } from '../../src/core/resolver.js';
import { RawClient } from '../helpers/raw-smtp.js';
import { mailFixture } from '../helpers/mail-fixture.js';
import { tempDir } from '../helpers/tmp.js';

describe('SMTP on port 25 (MX)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let hasher: PasswordHasher;
  const listeners: Listener[] = [];
  /** Port of a server that treats 127.0.0.1 as the internet (empty mynetworks). */
  let strict: number;
  /** Port of a server with the default mynetworks (loopback trusted). */
  let trusting: number;
  /** Ports with tiny per-client limits: outside and inside mynetworks. */
  let limited: number;
  let limitedTrusted: number;
  let spool: Spool;
  const maildir = (u: string) => path.join(dir, 'vmail/example.test', u);
  const messages = async (u: string) => {
    const files = await readdir(path.join(maildir(u), 'new')).catch(() => [] as string[]);
    return Promise.all(files.map((f) => readFile(path.join(maildir(u), 'new', f), 'utf8')));
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    let delivery, directory;
    ({ delivery, directory, hasher } = await mailFixture(dir, 'alice@example.test:{PLAIN}x:::::\nbob@example.test:{PLAIN}x:::::\n', 'team@example.test alice@example.test, bob@example.test\n'));
    const certs = new TlsCertificates({ cert: '', key: '', dataDir: dir, hostname: 'mx.example.test' }, silentLogger);
    const policy = (mynetworks: string[], limits = { messageRateLimit: 100, recipientRateLimit: 200 }): MxPolicy => ({
      mynetworks: new NetworkList(mynetworks), recipientLimit: 3, heloRequired: true, rejectInvalidHelo: true,
      rejectNonFqdnHelo: true, rejectNonFqdnSender: true, rejectNonFqdnRecipient: true, rejectUnknownSenderDomain: true, rejectSenderTlds: [],
      ...limits,
    });
    // A fake DNS: the senders used here exist; two domains do not / cannot be looked up.
    const dns = new StaticResolver({
      'remote.example': { MX: ['mx.remote.example'] },
      'elsewhere.example': { A: ['192.0.2.80'] },
      'servfail.example': { MX: 'SERVFAIL' },
    });
    spool = new Spool(path.join(dir, 'queue'));
    await spool.init();
    const tight = { messageRateLimit: 3, recipientRateLimit: 4 };
    for (const [nets, limits] of [[[], undefined], [['127.0.0.0/8', '[::ffff:127.0.0.0]/104', '[::1]/128'], undefined], [[], tight], [['127.0.0.0/8'], tight]] as const) {
      const mx = new MxService({
        hostname: 'mx.example.test', maxMessageSize: 3000, policy: policy([...nets], limits), log: silentLogger,
        router: new Router(delivery, spool, undefined, silentLogger), senderDomains: new DnsSenderDomainCheck(dns, directory),
        messageRate: new RateWindow(60_000), recipientRate: new RateWindow(60_000),
        tls: { options: () => ({ minVersion: 'TLSv1.2', ciphers: TLS_CIPHERS }), attach: (s) => certs.attach(s) },
        now: () => new Date('2026-11-23T12:00:00Z'),
      });
      // The per-client connection limit is the listener's (as compose.ts sets it up).
      const exempt = new NetworkList([...nets]);
      const l = new Listener({
        name: 'smtp', address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, handler: (s, adopt) => mx.handle(s, adopt),
        ...(limits ? { limits: { maxConnections: 100, perClient: 2, exempt: (ip: string) => exempt.has(ip) }, turnaway: smtpTurnaway('mx.example.test', 'SMTP') } : {}),
      }, silentLogger);
      await l.start();
      listeners.push(l);
    }
    await certs.reload();
    [strict, trusting, limited, limitedTrusted] = listeners.map((l) => l.port!) as [number, number, number, number];
  });
  afterAll(async () => {
    // also proves that a session upgraded with STARTTLS is still tracked (and cut) at shutdown
    for (const l of listeners) {
      await l.stop(0);
      expect(l.connections).toBe(0);
    }
    await hasher.close();
    await cleanup();
  });

  const transport = (port: number, name = 'mail.remote.example', opts: Record<string, unknown> = {}) =>
    nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, name, tls: { rejectUnauthorized: false }, ...opts });

  it('accepts mail for local users over STARTTLS and puts a Received line on top', async () => {
    const info = await transport(strict, 'mail.remote.example', { requireTLS: true }).sendMail({
      envelope: { from: 'someone@remote.example', to: ['alice+news@example.test'] },
      raw: 'From: someone@remote.example\r\nTo: alice@example.test\r\nSubject: hello over TLS\r\n\r\nbody\r\n',
    });
    expect(info.accepted).toEqual(['alice+news@example.test']);
    expect(info.response).toMatch(/^250 2\.0\.0 Ok: queued as /);
    const [text] = (await messages('alice')).filter((t) => t.includes('hello over TLS'));
    expect(text).toMatch(/^Return-Path: <someone@remote\.example>\nDelivered-To: alice\+news@example\.test\nReceived: from mail\.remote\.example \(\[[^\]]+\]\)\n\t\(using TLSv1\.[23] with cipher [^)]+\)\n\tby mx\.example\.test \(tsmail\) with ESMTPS id \S+\n\tfor <alice\+news@example\.test>;\n\tMon, 23 Nov 2026 12:00:00 \+0000\nFrom: someone@remote\.example\n/);
  });

  it('stores the body byte-identical (8-bit, dot-stuffed lines, trailing blanks), only adding header lines on top', async () => {
    const original = Buffer.concat([
      Buffer.from('From: x@remote.example\r\nSubject: bytes\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n'),
      Buffer.from('Gr\xfc\xdfe, \xe9t\xe9\r\n', 'latin1'),
      Buffer.from('UTF-8: \u00e4\u00f6\u00fc \u{1F600}\r\n.leading dot\r\n..two dots\r\n.\ttab\r\ntrailing blanks   \r\n\r\n\r\n', 'utf8'),
      Buffer.from('x'.repeat(998) + '\r\nlast line\r\n'),
    ]);
    const c = await RawClient.connect(strict);
    c.send('EHLO mail.remote.example\r\n');
    await c.replies(1);
    c.send('MAIL FROM:<x@remote.example> BODY=8BITMIME\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n');
    expect((await c.replies(3))[2]).toMatch(/^354 /);
    const stuffed = original.toString('latin1').replace(/^\./gm, '..');
    c.socket.write(Buffer.concat([Buffer.from(stuffed, 'latin1'), Buffer.from('.\r\n')]));
    expect((await c.replies(1))[0]).toMatch(/^250 /);
    c.socket.destroy();
    const files = await readdir(path.join(maildir('bob'), 'new'));
    const stored = await Promise.all(files.map((f) => readFile(path.join(maildir('bob'), 'new', f))));
    const mine = stored.find((b) => b.includes('Subject: bytes'))!;
    // Maildir keeps LF line ends (as Dovecot does); IMAP/POP3 give CRLF back
    const asSent = Buffer.from(mine.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');
    const start = asSent.indexOf('From: x@remote.example');
    expect(asSent.subarray(0, start).toString()).toMatch(/^Return-Path: <x@remote\.example>\r\nDelivered-To: bob@example\.test\r\nReceived: from mail\.remote\.example /);
    expect(asSent.subarray(start).equals(original)).toBe(true);
  });

  it('expands aliases to every mailbox', async () => {
    await transport(strict).sendMail({ envelope: { from: 'x@remote.example', to: ['team@example.test'] }, raw: 'Subject: to the team\r\n\r\nhi\r\n' });
    for (const u of ['alice', 'bob']) expect((await messages(u)).some((t) => t.includes('to the team')), u).toBe(true);
  });

  it('refuses relaying (554 5.7.1) and unknown users (550 5.1.1) at RCPT, delivering the rest', async () => {
    const c = await RawClient.connect(strict);
    c.send('EHLO mail.remote.example\r\n');
    await c.replies(1);
    c.send('MAIL FROM:<x@remote.example>\r\nRCPT TO:<victim@gmail.example>\r\nRCPT TO:<nobody@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n');
    const r = await c.replies(5);
    expect(r[1]).toBe('554 5.7.1 Relay access denied');
    expect(r[2]).toMatch(/^550 5\.1\.1 /);
    expect(r[3]).toMatch(/^250 /);
    expect(r[4]).toMatch(/^354 /);
    c.send('Subject: partly\r\n\r\nx\r\n.\r\n');
    expect((await c.replies(1))[0]).toMatch(/^250 /);
    c.send('VRFY bob@example.test\r\n');
    expect((await c.replies(1))[0]).toMatch(/^50[02] 5\.5\.[12] /); // disable_vrfy_command
    c.socket.destroy();
  });

  it('checks HELO, sender and recipient names for clients outside mynetworks only', async () => {
    const attempt = async (port: number, helo: string | null, from: string, to: string) => {
      const c = await RawClient.connect(port);
      if (helo !== null) {
        c.send(`EHLO ${helo}\r\n`);
        await c.replies(1);
      }
      c.send(`MAIL FROM:<${from}>\r\n`);
      const mail = (await c.replies(1))[0]!;
      if (!mail.startsWith('250')) {
        c.socket.destroy();
        return mail;
      }
      c.send(`RCPT TO:<${to}>\r\n`);
      const rcpt = (await c.replies(1))[0]!;
      c.socket.destroy();
      return rcpt;
    };
    expect(await attempt(strict, 'localhost', 'x@remote.example', 'bob@example.test')).toMatch(/^504 5\.5\.2 <localhost>: Helo command rejected: need fully-qualified hostname/);
    expect(await attempt(strict, 'bad_host!name', 'x@remote.example', 'bob@example.test')).toMatch(/^501 5\.5\.2 .*Invalid name/);
    expect(await attempt(strict, '[192.0.2.1]', 'x@remote.example', 'bob@example.test')).toMatch(/^250 /);
    expect(await attempt(strict, null, 'x@remote.example', 'bob@example.test')).toMatch(/^503 /);
    expect(await attempt(strict, 'mail.remote.example', 'x@localhost', 'bob@example.test')).toMatch(/^504 5\.5\.2 <x@localhost>: Sender address rejected/);
    expect(await attempt(strict, 'mail.remote.example', 'x@remote.example', 'bob@localhost')).toMatch(/^504 5\.5\.2 <bob@localhost>: Recipient address rejected/);
    // reject_unknown_sender_domain: no MX/A/AAAA → 550 5.1.8; DNS failure → 450 4.1.8, never a bounce
    expect(await attempt(strict, 'mail.remote.example', 'x@nxdomain.example', 'bob@example.test')).toMatch(/^550 5\.1\.8 <x@nxdomain\.example>: Sender address rejected: Domain not found/);
    expect(await attempt(strict, 'mail.remote.example', 'x@servfail.example', 'bob@example.test')).toMatch(/^450 4\.1\.8 /);
    expect(await attempt(strict, 'mail.remote.example', 'x@elsewhere.example', 'bob@example.test')).toMatch(/^250 /);
    expect(await attempt(trusting, 'localhost', 'x@nxdomain.example', 'bob@example.test')).toMatch(/^250 /);
    // mynetworks skips the HELO checks (permit_mynetworks) ...
    expect(await attempt(trusting, 'localhost', 'x@remote.example', 'bob@example.test')).toMatch(/^250 /);
    // ... and may relay (permit_mynetworks before reject_unauth_destination)
    expect(await attempt(trusting, 'localhost', 'x@remote.example', 'someone@gmail.example')).toMatch(/^250 /);
  });

  it('relays for mynetworks into the durable outbound spool, with the DSN parameters', async () => {
    const before = new Set(await readdir(path.join(dir, 'queue/queued')));
    const c = await RawClient.connect(trusting);
    c.send('EHLO app.internal\r\n');
    await c.replies(1);
    c.send('MAIL FROM:<app@example.test> RET=HDRS ENVID=abc123\r\nRCPT TO:<friend@gmail.example> NOTIFY=FAILURE,DELAY ORCPT=rfc822;friend@gmail.example\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n');
    const r = await c.replies(4);
    expect(r.slice(0, 3).every((l) => l.startsWith('250')), r.join('|')).toBe(true);
    c.send('Subject: relayed\r\n\r\nbody line\r\n.\r\n');
    expect((await c.replies(1))[0]).toMatch(/^250 2\.0\.0 /);
    c.socket.destroy();
    const added = (await readdir(path.join(dir, 'queue/queued'))).filter((f) => !before.has(f));
    const envFile = added.find((f) => f.endsWith('.json'))!;
    const env = JSON.parse(await readFile(path.join(dir, 'queue/queued', envFile), 'utf8'));
    expect(env).toMatchObject({
      from: 'app@example.test', to: ['friend@gmail.example'],
      dsn: { ret: 'HDRS', envid: 'abc123', recipients: { 'friend@gmail.example': { notify: ['FAILURE', 'DELAY'], orcpt: 'rfc822;friend@gmail.example' } } },
    });
    const queued = await readFile(path.join(dir, 'queue/queued', envFile.replace(/\.json$/, '')), 'utf8');
    expect(queued).toMatch(/^Received: from app\.internal /);
    expect(queued.endsWith('Subject: relayed\r\n\r\nbody line\r\n')).toBe(true);
    // the local recipient of the same message got it too
    expect((await messages('bob')).some((t) => t.includes('Subject: relayed'))).toBe(true);
  });

  it('limits recipients per message (452 4.5.3)', async () => {
    const c = await RawClient.connect(strict);
    c.send('EHLO mail.remote.example\r\n');
    await c.replies(1);
    c.send('MAIL FROM:<x@remote.example>\r\n' + 'RCPT TO:<bob@example.test>\r\n'.repeat(4));
    const r = await c.replies(5);
    expect(r.slice(1, 4).every((l) => l.startsWith('250'))).toBe(true);
    expect(r[4]).toMatch(/^452 4\.5\.3 /);
    c.socket.destroy();
  });

  it('enforces the size limit at MAIL SIZE= and during DATA (552 5.3.4), storing nothing', async () => {
    const before = (await messages('bob')).length;
    const c = await RawClient.connect(strict);
    c.send('EHLO mail.remote.example\r\n');
    await c.replies(1);
    c.send('MAIL FROM:<x@remote.example> SIZE=999999\r\n');
    expect((await c.replies(1))[0]).toMatch(/^552 5\.3\.4 /);
    c.send('MAIL FROM:<x@remote.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n');
    await c.replies(3);
    c.send('Subject: big\r\n\r\n' + ('z'.repeat(70) + '\r\n').repeat(80) + '.\r\n');
    expect((await c.replies(1))[0]).toMatch(/^552 5\.3\.4 /);
    expect((await messages('bob')).length).toBe(before);
    c.socket.destroy();
  });

  it('is not fooled by SMTP smuggling (CVE-2023-51764): only <CRLF>.<CRLF> ends DATA', async () => {
    const c = await RawClient.connect(strict);
    c.send('EHLO mail.remote.example\r\n');
    await c.replies(1);
    c.send('MAIL FROM:<x@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n');
    await c.replies(3);
    c.send('Subject: carrier\r\n\r\nhi\n.\nMAIL FROM:<admin@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: SMUGGLED\r\n\r\nx\r.\r\nstill data\r\n.\r\n');
    expect((await c.replies(1))[0]).toMatch(/^250 /);
    c.send('QUIT\r\n');
    await c.replies(1);
    const carrier = (await messages('alice')).find((t) => t.includes('Subject: carrier'))!;
    expect(carrier).toContain('Subject: SMUGGLED');
    expect((await messages('bob')).some((t) => t.includes('SMUGGLED'))).toBe(false);
  });

  it('limits connections, messages and recipients per client, exempting mynetworks (421 / 450 4.7.1)', async () => {
    for (const [port, exempt] of [[limited, false], [limitedTrusted, true]] as const) {
      const conns = await Promise.all([1, 2, 3].map(() => RawClient.connect(port)));
      expect(conns[2]!.all.startsWith('421 4.7.0'), `third connection, exempt=${exempt}`).toBe(!exempt);
      for (const c of conns) c.socket.destroy();
      await new Promise((r) => setTimeout(r, 100));
      const c = await RawClient.connect(port);
      c.send('EHLO mail.remote.example\r\n');
      await c.replies(1);
      const replies: string[] = [];
      for (let i = 0; i < 4; i++) {
        c.send('MAIL FROM:<x@remote.example>\r\n');
        replies.push((await c.replies(1))[0]!);
        if (!replies.at(-1)!.startsWith('250')) continue;
        c.send('RCPT TO:<bob@example.test>\r\nRCPT TO:<alice@example.test>\r\nRSET\r\n');
        replies.push(...(await c.replies(3)).slice(0, 2));
      }
      c.socket.destroy();
      const refusals = replies.filter((r) => r.startsWith('450 4.7.1'));
      if (exempt) expect(refusals).toEqual([]);
      else {
        expect(refusals.some((r) => r.includes('too many recipients'))).toBe(true); // 5th recipient
        expect(refusals.some((r) => r.includes('too much mail'))).toBe(true); // 4th message
      }
    }
  });
});
