/**
 * The listeners of the real tsmail process under the attacks of issue 10, from raw sockets:
 *  - per client IP, connections are limited on 25, 587 and 465 alike (Postfix
 *    smtpd_client_connection_count_limit, `421 4.7.0 <host> Error: too many connections from
 *    <ip>`), TLS handshakes in progress counted; mynetworks exempt;
 *  - 1,100 connections to 465 that never send a ClientHello, against a daemon whose descriptor
 *    limit is 256: the flood is held to its listener's share, while 25 and 587 keep greeting and
 *    465 serves again once the flood is gone;
 *  - a TLS handshake that never comes (465, STARTTLS) is cut off after the handshake timeout,
 *    not the idle timeout;
 *  - TLS renegotiation is refused on 465 and after STARTTLS;
 *  - LMTP over TCP serves only mynetworks and this host.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST, SmtpClient, eventually, startSmtpDaemon, type SmtpDaemon } from '../helpers/smtp-daemon.js';
import { tempDir } from '../helpers/tmp.js';

const USERS = 'alice@example.test:{PLAIN}alice-pw:::::\n';
/** How long a test waits for the server to act; far more than any timeout configured here. */
const PATIENCE_MS = 30_000;
const FROM_IP = (ip: string) => `421 4.7.0 ${HOST} Error: too many connections from ${ip}\r\n`;

/** A TCP connection that never says anything (no ClientHello, no command). */
async function silent(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  const s = net.connect({ port, host: '127.0.0.1', localAddress });
  s.on('error', () => {});
  await once(s, 'connect');
  return s;
}

/** A TLS client on 465 with its greeting, or null when the server closes before the handshake is done. */
async function tlsClient(port: number, localAddress = '127.0.0.1', options: tls.ConnectionOptions = {}): Promise<SmtpClient | null> {
  const raw = net.connect({ port, host: '127.0.0.1', localAddress });
  raw.on('error', () => {});
  const socket = tls.connect({ socket: raw, rejectUnauthorized: false, ...options });
  const secured = await new Promise<boolean>((resolve) => {
    socket.once('secureConnect', () => resolve(true));
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
  if (!secured) {
    socket.destroy();
    return null;
  }
  const c = new SmtpClient(socket);
  await c.next();
  return c;
}

/**
 * Asks for a renegotiation; resolves 'renegotiated' only when a second full handshake was done,
 * else with what ended the attempt.
 */
function renegotiate(socket: tls.TLSSocket): Promise<string> {
  return new Promise((resolve) => {
    socket.once('error', (err) => resolve(`error: ${err.message}`));
    socket.once('close', () => resolve('closed'));
    const started = socket.renegotiate({ rejectUnauthorized: false }, (err) => resolve(err ? `error: ${err.message}` : 'renegotiated'));
    if (!started) resolve('not started');
  });
}

describe('listener limits of the real daemon', () => {
  let limited: SmtpDaemon;
  let flooded: SmtpDaemon;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    const [a, b] = await Promise.all([tempDir(), tempDir()]);
    cleanups.push(a.cleanup, b.cleanup);
    [limited, flooded] = await Promise.all([
      // 127.0.0.9 plays a host in mynetworks; the others are clients on the internet.
      startSmtpDaemon(a.dir, USERS, { smtp: { client_connection_count_limit: 2, mynetworks: ['127.0.0.9/32'], tls_handshake_timeout: 3 } }),
      startSmtpDaemon(b.dir, USERS, { smtp: { max_clients: 50, client_connection_count_limit: 0, tls_handshake_timeout: 60 } }),
    ]);
    // As under `ulimit -n 256`: 1,100 open connections would not fit.
    execFileSync('prlimit', [`--pid=${flooded.running.proc.pid}`, '--nofile=256:256']);
  });
  afterAll(async () => {
    for (const d of [limited, flooded]) {
      if (!d) continue;
      expect(d.running.proc.exitCode).toBeNull();
      expect(await d.stop()).toBe(0);
    }
    for (const c of cleanups) await c();
  });

  describe('client_connection_count_limit = 2 on every listener', () => {
    it.each(['smtp', 'submission'] as const)('%s: the third connection from one IP gets Postfix\'s 421 4.7.0 and is closed; other IPs and mynetworks are served', async (kind) => {
      const port = limited.ports[kind];
      const two = await Promise.all([SmtpClient.connect(port, '127.0.0.2'), SmtpClient.connect(port, '127.0.0.2')]);
      for (const c of two) expect(c.all).toMatch(/^220 /);
      const third = await SmtpClient.connect(port, '127.0.0.2');
      expect(third.all).toBe(FROM_IP('127.0.0.2'));
      expect(await third.waitClosed(PATIENCE_MS)).toBe(true);
      // Other clients are not affected, and mynetworks are exempt (smtpd_client_event_limit_exceptions).
      const other = await SmtpClient.connect(port, '127.0.0.3');
      expect(other.all).toMatch(/^220 /);
      const trusted = await Promise.all([1, 2, 3, 4].map(() => SmtpClient.connect(port, '127.0.0.9')));
      for (const c of trusted) expect(c.all).toMatch(/^220 /);
      // The two carry on; once one leaves, the IP may connect again.
      expect(await two[0]!.command('EHLO client.remote.example')).toMatch(/^250[ -]/);
      expect(await two[0]!.command('QUIT')).toMatch(/^221 /);
      expect(await two[0]!.waitClosed(PATIENCE_MS)).toBe(true);
      // (The server counts a connection until its socket is closed on both ends, which it may
      // learn a moment after the client: a reconnect at once may still be turned away.)
      const again = await eventually(() => SmtpClient.connect(port, '127.0.0.2'), (c) => c.all.startsWith('220 '));
      expect(again.all).toMatch(/^220 /);
      for (const c of [two[1]!, other, again, ...trusted]) c.close();
    });

    it('submissions (465): connections still in their TLS handshake count; the third is closed without a handshake', async () => {
      const port = limited.ports.submissions;
      const session = await tlsClient(port, '127.0.0.2');
      expect(session?.all).toMatch(/^220 /);
      const pending = await silent(port, '127.0.0.2');
      expect(await tlsClient(port, '127.0.0.2')).toBeNull();
      const other = await tlsClient(port, '127.0.0.3');
      expect(other?.all).toMatch(/^220 /);
      pending.destroy();
      await once(pending, 'close');
      // The slot of the pending one is free again (the server may take a moment to see the close).
      let again: SmtpClient | null = null;
      for (let i = 0; i < 50 && !again; i++) {
        again = await tlsClient(port, '127.0.0.2');
        if (!again) await new Promise((r) => setTimeout(r, 100));
      }
      expect(again?.all).toMatch(/^220 /);
      for (const c of [session!, other!, again!]) c.close();
    });
  });

  it('1,100 connections to 465 that never start TLS (fd limit 256): held to the listener\'s 50, while 25 and 587 greet', async () => {
    const port = flooded.ports.submissions;
    const open = new Set<net.Socket>();
    let closed = 0;
    const connect = async () => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.on('error', () => {});
      open.add(s);
      const gone = once(s, 'close').then(() => {
        open.delete(s);
        closed++;
      });
      await Promise.race([once(s, 'connect'), gone]);
      return s;
    };
    // In waves of 100: 1,100 SYNs at once overflow the listen backlog (511), and the kernel's
    // SYN retries (1 s, 3 s, 7 s, ...) on a loaded machine can outlast the test's patience.
    const flood: net.Socket[] = [];
    for (let wave = 0; wave < 11; wave++) flood.push(...(await Promise.all(Array.from({ length: 100 }, connect))));
    // Beyond the listener's 50 every connection is closed at once; the handshake timeout (60 s,
    // longer than this test waits) cannot be what closes them.
    expect(await eventually(async () => closed, (n) => n >= 1050, PATIENCE_MS)).toBe(1050);
    expect(open.size).toBe(50);
    // With 50 handshakes pending on 465, the other listeners greet and serve ...
    for (const kind of ['smtp', 'submission'] as const) {
      const c = await SmtpClient.connect(flooded.ports[kind]);
      expect(c.all).toMatch(/^220 /);
      expect(await c.command('EHLO client.remote.example')).toMatch(/^250[ -]/);
      expect(await c.command('QUIT')).toMatch(/^221 /);
    }
    // ... and 465 itself is full.
    expect(await tlsClient(port)).toBeNull();
    // Once the flood's connections are gone, 465 serves again.
    for (const s of flood) s.destroy();
    let c: SmtpClient | null = null;
    for (let i = 0; i < 100 && !c; i++) {
      c = await tlsClient(port);
      if (!c) await new Promise((r) => setTimeout(r, 100));
    }
    expect(c?.all).toMatch(/^220 /);
    expect(await c!.command('EHLO client.remote.example')).toMatch(/^250[ -]/);
    c!.close();
    expect(flooded.running.proc.exitCode).toBeNull();
  }, 120_000);

  // [smtp] timeout is 300 s: only the handshake timeout (3 s) can close these within the patience.
  describe.concurrent('handshakes that never come', () => {
    it.each(['smtp', 'submission'] as const)('%s: STARTTLS followed by no handshake is cut off after tls_handshake_timeout, not the idle timeout', async (kind) => {
      const c = await SmtpClient.connect(limited.ports[kind], '127.0.0.7');
      await c.command('EHLO client.remote.example');
      expect(await c.command('STARTTLS')).toMatch(/^220 /);
      expect(await c.waitClosed(PATIENCE_MS)).toBe(true);
    });

    it('submissions: a client that never sends its ClientHello is cut off after tls_handshake_timeout', async () => {
      const s = await silent(limited.ports.submissions, '127.0.0.7');
      let timer: NodeJS.Timeout | undefined;
      const closed = await Promise.race([
        once(s, 'close').then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), PATIENCE_MS);
        }),
      ]);
      clearTimeout(timer);
      expect(closed).toBe(true);
    });
  });

  describe('TLS renegotiation is refused', () => {
    it('on 465: the attempt fails, the server closes the connection, others are served', async () => {
      const c = await tlsClient(limited.ports.submissions, '127.0.0.5', { maxVersion: 'TLSv1.2' });
      expect(c).not.toBeNull();
      const socket = c!.socket as tls.TLSSocket;
      expect(socket.getProtocol()).toBe('TLSv1.2');
      expect(await renegotiate(socket)).not.toBe('renegotiated');
      expect(await c!.waitClosed(PATIENCE_MS)).toBe(true);
      const next = await tlsClient(limited.ports.submissions, '127.0.0.5');
      expect(next?.all).toMatch(/^220 /);
      next!.close();
    });

    it('after STARTTLS on 587 and 25: the attempt fails and no second handshake happens', async () => {
      for (const kind of ['submission', 'smtp'] as const) {
        const plain = await SmtpClient.connect(limited.ports[kind], '127.0.0.6');
        await plain.command('EHLO client.remote.example');
        expect(await plain.command('STARTTLS')).toMatch(/^220 /);
        const socket = tls.connect({ socket: plain.socket, rejectUnauthorized: false, maxVersion: 'TLSv1.2' });
        await once(socket, 'secureConnect');
        const c = new SmtpClient(socket);
        expect(await c.command('EHLO client.remote.example'), kind).toMatch(/^250[ -]/);
        let handshakes = 0;
        for (let i = 0; i < 5 && !socket.destroyed; i++) {
          if ((await renegotiate(socket)) === 'renegotiated') handshakes++;
          else break;
        }
        expect(handshakes, kind).toBe(0);
        socket.destroy();
      }
    });
  });

  describe('LMTP over TCP', () => {
    it('refuses clients outside mynetworks and this host with 421 and closes', async () => {
      const c = await SmtpClient.connect(limited.ports.lmtp, '127.0.0.2');
      expect(c.all).toBe(`421 4.7.0 ${HOST} Error: LMTP not allowed from 127.0.0.2\r\n`);
      expect(await c.waitClosed(PATIENCE_MS)).toBe(true);
    });

    it.each(['127.0.0.1', '127.0.0.9'])('serves %s (this host, mynetworks)', async (ip) => {
      const c = await SmtpClient.connect(limited.ports.lmtp, ip);
      expect(c.all).toMatch(/^220 /);
      expect(await c.command('LHLO client.example')).toMatch(/^250[ -]/);
      c.send('MAIL FROM:<someone@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n');
      expect((await c.replies(3))[2]).toMatch(/^354 /);
      expect(await c.command(`Subject: via LMTP from ${ip}\r\n\r\nx\r\n.`)).toMatch(/^250 /);
      expect(await c.command('QUIT')).toMatch(/^221 /);
      expect((await limited.messages('alice')).some((m) => m.includes(`via LMTP from ${ip}`))).toBe(true);
    });
  });
});
