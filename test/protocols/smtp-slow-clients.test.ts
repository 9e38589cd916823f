/**
 * Slow and greedy clients against the real tsmail process: `[smtp] timeout` (Postfix
 * smtpd_timeout) cuts off clients that stop talking, whatever state they are in, with Postfix's
 * `421 4.4.2 <host> Error: timeout exceeded`, and nothing of an unfinished message is kept;
 * `[smtp] max_clients` (default_process_limit) turns away connections beyond the limit with 421
 * while the others carry on. Two daemons: one with a 2-second timeout, one with room for three.
 */
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST, SmtpClient, eventually, startSmtpDaemon, type SmtpDaemon } from '../helpers/smtp-daemon.js';
import { tempDir } from '../helpers/tmp.js';

const USERS = 'alice@example.test:{PLAIN}alice-pw:::::\nbob@example.test:{PLAIN}bob-pw:::::\n';
const TIMEOUT_S = 2;
/** How long a test waits for the server to act on its timeout; far more than TIMEOUT_S. */
const PATIENCE_MS = 20_000;
const TIMED_OUT = `421 4.4.2 ${HOST} Error: timeout exceeded`;
const TOO_MANY = `421 4.3.2 ${HOST} Error: too many connections, try again later`;

describe('slow and greedy clients on the SMTP listeners of the real daemon', () => {
  let slow: SmtpDaemon;
  let crowded: SmtpDaemon;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    const [a, b] = await Promise.all([tempDir(), tempDir()]);
    cleanups.push(a.cleanup, b.cleanup);
    [slow, crowded] = await Promise.all([
      startSmtpDaemon(a.dir, USERS, { smtp: { timeout: TIMEOUT_S } }),
      startSmtpDaemon(b.dir, USERS, { smtp: { max_clients: 3, client_connection_count_limit: 2 }, lmtp: { allowed: ['127.0.0.0/8'] } }),
    ]);
  });
  afterAll(async () => {
    for (const d of [slow, crowded]) {
      if (!d) continue; // its start failed, and the helper killed it
      expect(d.running.proc.exitCode).toBeNull();
      expect(await d.stop()).toBe(0);
    }
    for (const c of cleanups) await c();
  });

  const greet = (kind: 'smtp' | 'lmtp' | 'submission' | 'submissions') => (kind === 'lmtp' ? 'LHLO' : 'EHLO');
  const connect = (d: SmtpDaemon, kind: 'smtp' | 'lmtp' | 'submission' | 'submissions') =>
    kind === 'submissions' ? SmtpClient.connectTls(d.ports.submissions) : SmtpClient.connect(d.ports[kind]);

  describe(`[smtp] timeout = ${TIMEOUT_S}`, () => {
    // Independent sessions that each wait out the timeout: run side by side.
    describe.concurrent('idle clients', () => {
      it.each(['smtp', 'lmtp', 'submission', 'submissions'] as const)('%s: a client that says nothing gets 421 4.4.2 and is disconnected', async (kind) => {
        const c = await connect(slow, kind);
        expect(c.all).toMatch(/^220 /);
        expect(await c.waitClosed(PATIENCE_MS)).toBe(true);
        expect(c.all.split('\r\n').filter(Boolean).at(-1)).toBe(TIMED_OUT);
      });

      it.each(['smtp', 'lmtp'] as const)('%s: a command trickled in slower than the timeout is never run', async (kind) => {
        const c = await connect(slow, kind);
        // One byte, then a pause longer than the timeout, and so on.
        for (const byte of `${greet(kind)} client.remote.example\r\n`) {
          c.send(byte);
          if (await c.waitClosed(TIMEOUT_S * 1000 + 3_000)) break;
        }
        expect(c.closed).toBe(true);
        expect(c.all).not.toMatch(/^250/m);
        expect(c.all.split('\r\n').filter(Boolean).at(-1)).toBe(TIMED_OUT);
      });

      it('STARTTLS followed by no handshake is cut off, and the session is not counted any more', async () => {
        // Its own daemon, to be stopped here: shutdown waits for every session it counts.
        const { dir, cleanup } = await tempDir();
        const d = await startSmtpDaemon(dir, USERS, { smtp: { timeout: TIMEOUT_S } });
        try {
          await Promise.all((['smtp', 'submission'] as const).map(async (kind) => {
            const c = await SmtpClient.connect(d.ports[kind]);
            await c.command('EHLO client.remote.example');
            expect(await c.command('STARTTLS')).toMatch(/^220 /);
            expect(await c.waitClosed(PATIENCE_MS), kind).toBe(true);
          }));
          expect(await d.stop()).toBe(0);
        } finally {
          await d.stop();
          await cleanup();
        }
      });
    });

    it.each(['smtp', 'lmtp', 'submission'] as const)('%s: a client that stops in the middle of DATA is cut off and nothing of its message is kept', async (kind) => {
      const before = (await slow.messages('bob')).length;
      const unfinished = (text: string) => (text.match(/"msg":"message not (received|stored)"/g) ?? []).length;
      const abandonedBefore = unfinished(slow.running.stdout);
      let c = await connect(slow, kind);
      await c.command(`${greet(kind)} client.remote.example`);
      let sender = 'someone@remote.example';
      if (kind === 'submission') {
        c = await c.startTls();
        await c.command('EHLO client.remote.example');
        expect(await c.auth('alice@example.test', 'alice-pw')).toMatch(/^235 /);
        sender = 'alice@example.test';
      }
      c.send(`MAIL FROM:<${sender}>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n`);
      expect(await c.replies(3)).toEqual([expect.stringMatching(/^250 /), expect.stringMatching(/^250 /), expect.stringMatching(/^354 /)]);
      c.send(`Subject: stalled (${kind})\r\n\r\n${'x'.repeat(70_000)}\r\nand then nothing mor`);
      expect(await c.waitClosed(PATIENCE_MS)).toBe(true);
      expect(c.all.split('\r\n').filter(Boolean).at(-1)).toBe(TIMED_OUT);
      // The session's handler gives up on the message (it does not wait for the rest forever) ...
      expect(await eventually(async () => unfinished(slow.running.stdout), (n) => n > abandonedBefore)).toBe(abandonedBefore + 1);
      // ... and leaves nothing behind in the mailbox.
      expect(await eventually(() => slow.tmpFiles('bob'), (f) => f.length === 0)).toEqual([]);
      expect((await slow.messages('bob')).length).toBe(before);
      expect((await slow.messages('bob')).some((m) => m.includes('stalled'))).toBe(false);
    });

    // smtp-server only sees a 465 connection once its handshake is done: until then the TLS
    // server's handshakeTimeout (from [smtp] timeout; Node's default is 120 s) must cut it off.
    it('submissions: a client that never starts the TLS handshake is cut off after [smtp] timeout', async () => {
      const socket = net.connect(slow.ports.submissions, '127.0.0.1');
      await once(socket, 'connect');
      socket.on('error', () => {});
      const closed = once(socket, 'close').then(() => true);
      expect(await Promise.race([closed, new Promise((r) => setTimeout(() => r(false), PATIENCE_MS))])).toBe(true);
    });

    it('still serves everyone after all the slow clients', async () => {
      const c = await SmtpClient.connect(slow.ports.smtp);
      await c.command('EHLO client.remote.example');
      c.send('MAIL FROM:<someone@remote.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n');
      expect((await c.replies(3))[2]).toMatch(/^354 /);
      expect(await c.command('Subject: prompt\r\n\r\nx\r\n.')).toMatch(/^250 /);
      expect(await c.command('QUIT')).toMatch(/^221 /);
      expect((await slow.messages('bob')).filter((m) => m.includes('Subject: prompt'))).toHaveLength(1);
    });
  });

  describe('[smtp] max_clients = 3', () => {
    it.each(['smtp', 'lmtp'] as const)('%s: the fourth connection gets 421 and is closed; the three carry on; later ones are served again', async (kind) => {
      // From different loopback addresses, so that the per-client limit (2) is not what refuses.
      const first = await Promise.all(['127.0.0.1', '127.0.0.2', '127.0.0.3'].map((ip) => SmtpClient.connect(crowded.ports[kind], ip)));
      for (const c of first) expect(c.all).toMatch(/^220 /);
      const fourth = await SmtpClient.connect(crowded.ports[kind], '127.0.0.4');
      expect(fourth.all).toBe(`${TOO_MANY}\r\n`);
      expect(await fourth.waitClosed(PATIENCE_MS)).toBe(true);

      for (const c of first) expect(await c.command(`${greet(kind)} client.remote.example`)).toMatch(/^250[ -]/);
      const [one] = first;
      one!.send('MAIL FROM:<someone@remote.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n');
      expect((await one!.replies(3))[2]).toMatch(/^354 /);
      expect(await one!.command(`Subject: one of three (${kind})\r\n\r\nx\r\n.`)).toMatch(/^250 /);
      for (const c of first) {
        expect(await c.command('QUIT')).toMatch(/^221 /);
        expect(await c.waitClosed(PATIENCE_MS)).toBe(true);
      }

      const later = await eventually(() => SmtpClient.connect(crowded.ports[kind], '127.0.0.4'), (c) => c.all.startsWith('220 '));
      expect(later.all).toMatch(/^220 /);
      expect(await later.command(`${greet(kind)} client.remote.example`)).toMatch(/^250[ -]/);
      expect(await later.command('QUIT')).toMatch(/^221 /);
      expect((await crowded.messages('bob')).filter((m) => m.includes(`Subject: one of three (${kind})`))).toHaveLength(1);
    });

    it('a connection turned away does not upset the per-client connection count (smtpd_client_connection_count_limit = 2)', async () => {
      const port = crowded.ports.smtp;
      const a = await Promise.all([SmtpClient.connect(port, '127.0.0.1'), SmtpClient.connect(port, '127.0.0.1')]);
      const b = await SmtpClient.connect(port, '127.0.0.2');
      for (const c of [...a, b]) expect(c.all).toMatch(/^220 /);
      // Turned away for the process limit, before the per-client count ever saw it ...
      const refused = await SmtpClient.connect(port, '127.0.0.1');
      expect(refused.all).toBe(`${TOO_MANY}\r\n`);
      expect(await refused.waitClosed(PATIENCE_MS)).toBe(true);
      expect(await b.command('QUIT')).toMatch(/^221 /);
      expect(await b.waitClosed(PATIENCE_MS)).toBe(true);
      // ... so 127.0.0.1 still has its two connections open and a third is over its limit.
      // (Once the listener has seen b's socket close: until then the listener is still full.)
      const third = await eventually(() => SmtpClient.connect(port, '127.0.0.1'), (c) => !c.all.startsWith('421 4.3.2'));
      expect(third.all).toMatch(/^421 4\.7\.0 .*too many connections from/);
      expect(await third.waitClosed(PATIENCE_MS)).toBe(true);
      for (const c of a) {
        expect(await c.command('QUIT')).toMatch(/^221 /);
        expect(await c.waitClosed(PATIENCE_MS)).toBe(true);
      }
      // The listener counts a connection until its socket is closed on both ends, which it may
      // learn a moment after the client.
      const again = await eventually(() => SmtpClient.connect(port, '127.0.0.1'), (c) => c.all.startsWith('220 '));
      expect(again.all).toMatch(/^220 /);
      again.close();
    });
  });
});
