/**
 * What happens around a connection on the SMTP listeners: the greeting without smtp-server's
 * fixed pause, the optional greet pause with postscreen's early-talker verdicts, and sessions on
 * a unix-socket listener (where every client has the same "address") kept apart through STARTTLS
 * and tracked for shutdown.
 */
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { readdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkList } from '../../src/core/cidr.js';
import { silentLogger } from '../../src/core/logger.js';
import { StaticResolver } from '../../src/core/resolver.js';
import { Listener } from '../../src/daemon/listener.js';
import { TLS_CIPHERS, TlsCertificates } from '../../src/daemon/tls.js';
import { Router } from '../../src/delivery/routing.js';
import type { PasswordHasher } from '../../src/directory/schemes/index.js';
import { MxService, type MxPolicy } from '../../src/protocols/smtp/mx.js';
import { Spool } from '../../src/queue/spool.js';
import { RateWindow } from '../../src/security/rate-window.js';
import { DnsSenderDomainCheck } from '../../src/security/sender-domain.js';
import { mailFixture } from '../helpers/mail-fixture.js';
import { SmtpClient } from '../helpers/smtp-daemon.js';
import { tempDir } from '../helpers/tmp.js';

const PAUSE_MS = 400;

describe('SMTP connections: greeting, greet pause, unix sockets', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let hasher: PasswordHasher;
  let certs: TlsCertificates;
  const listeners: Listener[] = [];
  let make: (policy: Partial<MxPolicy>, address?: { kind: 'unix'; path: string }) => Promise<Listener>;
  const messages = async (u: string) => {
    const d = path.join(dir, 'vmail/example.test', u, 'new');
    const files = await readdir(d).catch(() => [] as string[]);
    return Promise.all(files.map((f) => readFile(path.join(d, f), 'utf8')));
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    const fx = await mailFixture(dir, 'alice@example.test:{PLAIN}x:::::\nbob@example.test:{PLAIN}x:::::\n', '');
    hasher = fx.hasher;
    const spool = new Spool(path.join(dir, 'queue'));
    await spool.init();
    certs = new TlsCertificates({ cert: '', key: '', dataDir: dir, hostname: 'mx.example.test' }, silentLogger);
    await certs.reload();
    const dns = new StaticResolver({ 'remote.example': { MX: ['mx.remote.example'] } });
    make = async (policy, address) => {
      const mx = new MxService({
        hostname: 'mx.example.test', maxMessageSize: 100_000, log: silentLogger,
        policy: {
          mynetworks: new NetworkList([]), recipientLimit: 10, heloRequired: true, rejectInvalidHelo: true, rejectNonFqdnHelo: true,
          rejectNonFqdnSender: true, rejectNonFqdnRecipient: true, rejectUnknownSenderDomain: true, rejectSenderTlds: [],
          messageRateLimit: 0, recipientRateLimit: 0, ...policy,
        },
        router: new Router(fx.delivery, spool, undefined, silentLogger), senderDomains: new DnsSenderDomainCheck(dns, fx.directory),
        messageRate: new RateWindow(60_000), recipientRate: new RateWindow(60_000),
        tls: { options: () => ({ ...certs.serverOptions(), minVersion: 'TLSv1.2', ciphers: TLS_CIPHERS }), attach: (s) => certs.attach(s) },
      });
      const l = new Listener({ name: 'smtp', address: address ?? { kind: 'tcp', host: '127.0.0.1', port: 0 }, handler: (s, adopt) => mx.handle(s, adopt) }, silentLogger);
      await l.start();
      listeners.push(l);
      return l;
    };
  });
  afterAll(async () => {
    for (const l of listeners) await l.stop(0);
    await hasher.close();
    await cleanup();
  });

  /** Connects and sends `first` at once, before any greeting could have been read. */
  function talkFirst(port: number, first: string): SmtpClient {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.write(first);
    return new SmtpClient(socket);
  }

  async function deliver(c: SmtpClient, rcpt: string, subject: string): Promise<string[]> {
    c.send(`MAIL FROM:<x@remote.example>\r\nRCPT TO:<${rcpt}>\r\nDATA\r\n`);
    const r = await c.replies(3);
    if (!r[2]!.startsWith('354')) return r;
    c.send(`Subject: ${subject}\r\n\r\nhi\r\n.\r\n`);
    return [...r, ...(await c.replies(1))];
  }

  it('greets at once: a client that talks before reading the greeting is simply served', async () => {
    const l = await make({});
    const c = talkFirst(l.port!, 'EHLO client.remote.example\r\n');
    const [greeting, ehlo] = await c.replies(2);
    expect(greeting).toBe('220 mx.example.test ESMTP tsmail');
    expect(ehlo).toMatch(/^250-mx\.example\.test/);
    expect((await deliver(c, 'alice@example.test', 'at once')).at(-1)).toMatch(/^250 2\.0\.0 Ok: queued as /);
    c.close();
  });

  it('greet pause, enforce: an early talker is heard out, then every RCPT gets 550 5.5.1', async () => {
    const l = await make({ greetPauseMs: PAUSE_MS, greetAction: 'enforce' });
    const c = talkFirst(l.port!, 'EHLO client.remote.example\r\nMAIL FROM:<x@remote.example>\r\n');
    // What it sent early is not answered: the greeting comes first, after the pause.
    expect(await c.next()).toBe('220 mx.example.test ESMTP tsmail');
    expect(await c.command('EHLO client.remote.example')).toMatch(/^250-/);
    expect(await deliver(c, 'alice@example.test', 'early')).toEqual([expect.stringMatching(/^250 /), '550 5.5.1 Protocol error', expect.stringMatching(/^554 5\.5\.1 /)]);
    expect((await messages('alice')).some((m) => m.includes('Subject: early'))).toBe(false);
    c.close();
    // A client that waits for the greeting is served as usual.
    const patient = await SmtpClient.connect(l.port!);
    expect(await patient.command('EHLO client.remote.example')).toMatch(/^250-/);
    expect((await deliver(patient, 'alice@example.test', 'patient')).at(-1)).toMatch(/^250 2\.0\.0 /);
    patient.close();
  });

  it('greet pause, drop: an early talker gets 521 5.5.1 and is disconnected', async () => {
    const l = await make({ greetPauseMs: PAUSE_MS, greetAction: 'drop' });
    const c = talkFirst(l.port!, 'EHLO client.remote.example\r\n');
    expect(await c.next()).toBe('521 5.5.1 Protocol error');
    await c.gone;
    expect(c.all).toBe('521 5.5.1 Protocol error\r\n');
  });

  it('greet pause: clients in mynetworks are greeted at once and never judged', async () => {
    const l = await make({ greetPauseMs: 60_000, greetAction: 'drop', mynetworks: new NetworkList(['127.0.0.0/8']) });
    const c = talkFirst(l.port!, 'EHLO client.remote.example\r\n');
    const [greeting, ehlo] = await c.replies(2);
    expect(greeting).toMatch(/^220 /);
    expect(ehlo).toMatch(/^250-/);
    expect((await deliver(c, 'bob@example.test', 'trusted')).at(-1)).toMatch(/^250 2\.0\.0 /);
    c.close();
  });

  it('unix socket: two concurrent sessions keep their own state through STARTTLS and are both cut at shutdown', async () => {
    const socketPath = path.join(dir, 'smtp.sock');
    const l = await make({}, { kind: 'unix', path: socketPath });
    const open = async () => {
      const c = new SmtpClient(net.connect(socketPath));
      expect(await c.next()).toMatch(/^220 /);
      expect(await c.command('EHLO client.remote.example')).toMatch(/^250-/);
      return c;
    };
    const [a0, b0] = await Promise.all([open(), open()]);
    const [a, b] = await Promise.all([a0.startTls(), b0.startTls()]);
    for (const c of [a, b]) expect((c.socket as tls.TLSSocket).encrypted).toBe(true);
    expect(await a.command('EHLO client.remote.example')).toMatch(/^250-/);
    expect(await b.command('EHLO client.remote.example')).toMatch(/^250-/);
    // Interleaved transactions: each session has only its own recipients.
    expect(await a.command('MAIL FROM:<a@remote.example>')).toMatch(/^250 /);
    expect(await b.command('MAIL FROM:<b@remote.example>')).toMatch(/^250 /);
    expect(await a.command('RCPT TO:<alice@example.test>')).toMatch(/^250 /);
    expect(await b.command('RCPT TO:<bob@example.test>')).toMatch(/^250 /);
    for (const [c, s] of [[a, 'from a'], [b, 'from b']] as const) {
      expect(await c.command('DATA')).toMatch(/^354 /);
      expect(await c.command(`Subject: ${s}\r\n\r\nhi\r\n.`)).toMatch(/^250 2\.0\.0 /);
    }
    expect((await messages('alice')).filter((m) => m.includes('Subject: from '))).toEqual([expect.stringContaining('Subject: from a')]);
    expect((await messages('bob')).filter((m) => m.includes('Subject: from '))).toEqual([expect.stringContaining('Subject: from b')]);
    // Both TLS sessions are tracked by the listener: stopping it cuts both.
    expect(l.connections).toBe(2);
    await l.stop(0);
    await Promise.all([a.gone, b.gone]);
    expect(l.connections).toBe(0);
  });
});
