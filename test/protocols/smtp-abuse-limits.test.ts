/**
 * Issue 10, "Listeners": the limits an attacker walked around, attacked the same way against the
 * real daemon over raw sockets on port 25 and submission:
 *  - the same RCPT repeated (300,000 copies made an 18.6 MB spool file): every RCPT counts
 *    towards smtpd_recipient_limit, and a recipient given twice is stored once;
 *  - hundreds of unknown-user 550s in one session: Postfix's smtpd_soft_error_limit (then a
 *    delay before every reply) and smtpd_hard_error_limit (421 and disconnect);
 *  - `RCPT TO:<postmaster>` (RFC 5321 4.5.1) and addresses no mailbox can have (syntax replies);
 *  - one "queued as" id per message, not per session.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST, SmtpClient, eventually, startSmtpDaemon, type SmtpDaemon } from '../helpers/smtp-daemon.js';
import { tempDir } from '../helpers/tmp.js';

const USERS = [
  'alice@example.test:{PLAIN}alice-pw:::::',
  'bob@example.test:{PLAIN}bob-pw:::::',
  'postmaster@example.test:{PLAIN}pm-pw:::::',
].join('\n') + '\n';
const RECIPIENT_LIMIT = 1000;
const SOFT = 10;
const HARD = 20;
const SLEEP_MS = 300;

type Kind = 'smtp' | 'submission';

describe('abuse limits of the SMTP listeners (real daemon)', () => {
  let d: SmtpDaemon;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    d = await startSmtpDaemon(dir, USERS, {
      smtp: { recipient_limit: RECIPIENT_LIMIT, soft_error_limit: SOFT, hard_error_limit: HARD, error_sleep_time: `${SLEEP_MS}ms` },
    });
  });
  afterAll(async () => {
    expect(d.running.proc.exitCode).toBeNull();
    expect(await d.stop()).toBe(0);
    await cleanup();
  });

  /** A session ready for MAIL: greeted, and on submission logged in over TLS. */
  async function open(kind: Kind, helo = 'client.remote.example'): Promise<SmtpClient> {
    if (kind === 'smtp') {
      const c = await SmtpClient.connect(d.ports.smtp);
      expect(await c.command(`EHLO ${helo}`)).toMatch(/^250[ -]/);
      return c;
    }
    const plain = await SmtpClient.connect(d.ports.submission);
    await plain.command('EHLO laptop.example.test');
    const c = await plain.startTls();
    await c.command('EHLO laptop.example.test');
    expect(await c.auth('alice@example.test', 'alice-pw')).toMatch(/^235 /);
    return c;
  }

  const senderFor = (kind: Kind) => (kind === 'smtp' ? 'someone@remote.example' : 'alice@example.test');
  const has = async (user: string, text: string) => (await d.messages(user)).filter((m) => m.includes(text));

  /** The spool's queued messages with their envelopes. */
  async function spooled(): Promise<{ envelope: { from: string; to: string[] }; message: string; size: number }[]> {
    const q = path.join(d.dataDir, 'queue', 'queued');
    const names = (await readdir(q).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));
    return Promise.all(names.map(async (n) => {
      const json = await readFile(path.join(q, n), 'utf8');
      return { envelope: JSON.parse(json) as { from: string; to: string[] }, message: await readFile(path.join(q, n.slice(0, -5)), 'utf8'), size: json.length };
    }));
  }

  describe('repeated recipients', () => {
    async function flood(kind: Kind, rcpt: string, subject: string): Promise<void> {
      const c = await open(kind);
      const n = 1500;
      // The attack pipelines them all; Postfix's smtpd_recipient_overshoot_limit (1000) keeps the
      // 452s past the limit from counting as errors, so the session goes on.
      c.send(`MAIL FROM:<${senderFor(kind)}>\r\n` + Array.from({ length: n }, (_, i) => `RCPT TO:<${i % 2 ? rcpt.toUpperCase() : rcpt}>\r\n`).join(''));
      const replies = await c.replies(n + 1);
      expect(replies[0]).toMatch(/^250 /);
      const rcptReplies = replies.slice(1);
      expect(rcptReplies.slice(0, RECIPIENT_LIMIT).every((r) => r.startsWith('250 '))).toBe(true);
      expect(new Set(rcptReplies.slice(RECIPIENT_LIMIT))).toEqual(new Set(['452 4.5.3 Error: too many recipients']));
      expect(await c.command('DATA')).toMatch(/^354 /);
      expect(await c.command(`From: ${senderFor(kind)}\r\nSubject: ${subject}\r\n\r\nx\r\n.`)).toMatch(/^250 2\.0\.0 Ok: queued as /);
      expect(await c.command('QUIT')).toMatch(/^221 /);
    }

    it('port 25: counts every RCPT towards the limit and delivers one copy to a local recipient', async () => {
      await flood('smtp', 'bob@example.test', 'flood on 25');
      const copies = await has('bob', 'Subject: flood on 25');
      expect(copies).toHaveLength(1);
      // One recipient: Dovecot's Delivered-To is there (it is left out for several recipients).
      expect(copies[0]).toMatch(/^Delivered-To: bob@example\.test$/m);
      const taken = d.running.logs().filter((l) => l.msg === 'message taken' && l.listener === 'smtp');
      expect(taken.some((l) => JSON.stringify(l.local) === '["bob@example.test"]')).toBe(true);
    });

    it('submission: counts every RCPT towards the limit and spools a remote recipient once', async () => {
      await flood('submission', 'carol@remote.example', 'flood on submission');
      const q = (await spooled()).filter((m) => m.message.includes('Subject: flood on submission'));
      expect(q).toHaveLength(1);
      expect(q[0]!.envelope.to).toEqual(['carol@remote.example']);
      expect(q[0]!.size).toBeLessThan(300);
    });

    it('counts per transaction: after RSET a new one starts at zero', async () => {
      const c = await open('smtp');
      c.send('MAIL FROM:<someone@remote.example>\r\n' + 'RCPT TO:<bob@example.test>\r\n'.repeat(RECIPIENT_LIMIT + 1) + 'RSET\r\n'
        + 'MAIL FROM:<someone@remote.example>\r\nRCPT TO:<bob@example.test>\r\n');
      const replies = await c.replies(RECIPIENT_LIMIT + 5);
      expect(replies[RECIPIENT_LIMIT + 1]).toBe('452 4.5.3 Error: too many recipients');
      expect(replies.slice(-3)).toEqual([expect.stringMatching(/^250 /), expect.stringMatching(/^250 /), expect.stringMatching(/^250 /)]);
      c.close();
    });
  });

  describe.each(['smtp', 'submission'] as const)('%s: error limits', (kind) => {
    it(`slows down every reply after ${SOFT} errors and disconnects with 421 at ${HARD}, while others are served`, async () => {
      const c = await open(kind);
      expect(await c.command(`MAIL FROM:<${senderFor(kind)}>`)).toMatch(/^250 /);
      const replies: string[] = [];
      const waited: number[] = [];
      let othersServedWhileSlowed: boolean | undefined;
      for (let i = 0; i < HARD; i++) {
        const start = performance.now();
        replies.push(await c.command(`RCPT TO:<nobody${i}@example.test>`));
        waited.push(performance.now() - start);
        if (i === SOFT) {
          // A client that behaves is served at once meanwhile.
          const other = await open(kind);
          expect(await other.command(`MAIL FROM:<${senderFor(kind)}>`)).toMatch(/^250 /);
          expect(await other.command('RCPT TO:<bob@example.test>')).toMatch(/^250 /);
          expect(await other.command('DATA')).toMatch(/^354 /);
          expect(await other.command(`From: ${senderFor(kind)}\r\nSubject: served meanwhile (${kind})\r\n\r\nx\r\n.`)).toMatch(/^250 /);
          other.close();
          othersServedWhileSlowed = !c.closed;
        }
      }
      expect(replies.every((r) => r === '550 5.1.1 User unknown in virtual mailbox table'), replies.join('\n')).toBe(true);
      // Replies after the tenth error wait smtpd_error_sleep_time (timers may fire a hair early).
      for (const ms of waited.slice(SOFT)) expect(ms).toBeGreaterThanOrEqual(SLEEP_MS - 5);
      // The twentieth error is followed at once by 421, unasked, and the connection closes.
      expect(await c.next()).toBe(`421 4.7.0 ${HOST} Error: too many errors`);
      expect(await c.waitClosed(10_000)).toBe(true);
      expect(othersServedWhileSlowed).toBe(true);
      expect(await has('bob', `Subject: served meanwhile (${kind})`)).toHaveLength(1);
    });

    it('counts every kind of error reply, and starts again after a message went through', async () => {
      const c = await open(kind);
      const errors = ['FOO', 'MAIL FROM:<bad', 'RCPT TO:<bob@example.test>', 'VRFY bob@example.test', 'DATA'];
      for (let i = 0; i < HARD - 1; i++) expect(await c.command(errors[i % errors.length]!)).toMatch(/^5\d\d /);
      // 19 errors: a message transferred successfully resets the count (Postfix TUNING_README).
      expect(await c.command(`MAIL FROM:<${senderFor(kind)}>`)).toMatch(/^250 /);
      expect(await c.command('RCPT TO:<bob@example.test>')).toMatch(/^250 /);
      expect(await c.command('DATA')).toMatch(/^354 /);
      expect(await c.command(`From: ${senderFor(kind)}\r\nSubject: resets the count (${kind})\r\n\r\nx\r\n.`)).toMatch(/^250 /);
      for (let i = 0; i < HARD - 1; i++) expect(await c.command('FOO')).toMatch(/^50\d /);
      expect(await c.command('NOOP')).toMatch(/^250 /);
      expect(c.closed).toBe(false);
      expect(await c.command('FOO')).toMatch(/^50\d /);
      expect(await c.next()).toBe(`421 4.7.0 ${HOST} Error: too many errors`);
      expect(await c.waitClosed(10_000)).toBe(true);
    });
  });

  describe.each(['smtp', 'submission'] as const)('%s: envelope address syntax', (kind) => {
    it('takes RCPT TO:<postmaster> without a domain for the local postmaster (RFC 5321 4.5.1)', async () => {
      const c = await open(kind);
      expect(await c.command(`MAIL FROM:<${senderFor(kind)}>`)).toMatch(/^250 /);
      expect(await c.command('RCPT TO:<Postmaster>')).toMatch(/^250 /);
      expect(await c.command('DATA')).toMatch(/^354 /);
      expect(await c.command(`From: ${senderFor(kind)}\r\nSubject: to the postmaster (${kind})\r\n\r\nx\r\n.`)).toMatch(/^250 /);
      c.close();
      const [copy] = await has('postmaster', `Subject: to the postmaster (${kind})`);
      expect(copy).toMatch(/^Delivered-To: postmaster@example\.test$/m);
    });

    it('answers an unusable local part with a syntax error, not "need fully-qualified address"', async () => {
      const c = await open(kind);
      const long = 'a'.repeat(65);
      const sender = kind === 'smtp' ? 'remote.example' : 'example.test';
      expect(await c.command(`MAIL FROM:<${long}@${sender}>`)).toBe('501 5.1.7 Bad sender address syntax');
      expect(await c.command(`MAIL FROM:<a/b@${sender}>`)).toBe('501 5.1.7 Bad sender address syntax');
      expect(await c.command(`MAIL FROM:<${senderFor(kind)}>`)).toMatch(/^250 /);
      expect(await c.command(`RCPT TO:<${long}@example.test>`)).toBe('501 5.1.3 Bad recipient address syntax');
      expect(await c.command('RCPT TO:<a/b@example.test>')).toBe('501 5.1.3 Bad recipient address syntax');
      expect(await c.command(`RCPT TO:<${'a'.repeat(64)}@example.test>`)).toBe('550 5.1.1 User unknown in virtual mailbox table');
      c.close();
    });
  });

  it('port 25: the postmaster is reachable past the HELO restrictions, other recipients are not', async () => {
    const c = await open('smtp', 'localhost');
    expect(await c.command('MAIL FROM:<someone@remote.example>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<bob@example.test>')).toMatch(/^504 5\.5\.2 <localhost>: Helo command rejected/);
    expect(await c.command('RCPT TO:<postmaster>')).toMatch(/^250 /);
    c.close();
  });

  describe.each(['smtp', 'submission'] as const)('%s: queue ids', (kind) => {
    it('gives each message of a session its own id, logged with the message', async () => {
      const c = await open(kind);
      const ids: string[] = [];
      for (const n of [1, 2]) {
        expect(await c.command(`MAIL FROM:<${senderFor(kind)}>`)).toMatch(/^250 /);
        expect(await c.command('RCPT TO:<bob@example.test>')).toMatch(/^250 /);
        expect(await c.command('DATA')).toMatch(/^354 /);
        const reply = await c.command(`From: ${senderFor(kind)}\r\nSubject: message ${n} of a session (${kind})\r\n\r\nx\r\n.`);
        ids.push(/^250 2\.0\.0 Ok: queued as (\S+)$/.exec(reply)?.[1] ?? reply);
      }
      c.close();
      expect(ids[0]).not.toBe(ids[1]);
      const taken = await eventually(
        async () => d.running.logs().filter((l) => l.msg === 'message taken' && ids.includes(l.queue as string)),
        (l) => l.length === 2,
      );
      expect(taken.map((l) => l.queue)).toEqual(ids);
      // Both belong to the one session.
      expect(new Set(taken.map((l) => l.session)).size).toBe(1);
    });
  });
});
