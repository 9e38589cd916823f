/**
 * Postfix/Dovecot parity of the SMTP listeners, on the real daemon over raw sockets:
 *  - a recipient whose quota cannot take the announced SIZE= gets `552 5.2.2` at RCPT (Dovecot's
 *    lmtp_rcpt_check_quota, the seeds' quota-status policy service) on 25, submission and LMTP,
 *    while the other recipients are accepted and get the message;
 *  - without SIZE= the quota is found full after DATA: LMTP answers per recipient; 25 and
 *    submission refuse the message with 552 5.2.2 (the others keep their copy: "250 plus a DSN"
 *    for the failed ones comes with the outbound queue);
 *  - reject_unknown_sender_domain does not look up domains we are final destination for;
 *  - unknown MAIL/RCPT parameters: `555 5.5.4 Unsupported option` (strict_rfc821_envelopes);
 *  - every log line of a session carries its session id.
 * DNS points at a closed port: any lookup fails, which turns a remote sender into `450 4.1.8`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpClient, eventually, startSmtpDaemon, type SmtpDaemon } from '../helpers/smtp-daemon.js';
import { tempDir } from '../helpers/tmp.js';

type Kind = 'smtp' | 'submission' | 'lmtp';
const KINDS: Kind[] = ['smtp', 'submission', 'lmtp'];
/** small@ may hold 300 bytes (330 with Dovecot's 10% delivery grace). */
const USERS = 'alice@example.test:{PLAIN}alice-pw:::::\nbob@example.test:{PLAIN}bob-pw:::::\nsmall@example.test:{PLAIN}x::::::userdb_quota_rule=*:bytes=300\n';
const OVER_QUOTA = '552 5.2.2 Mailbox full (quota exceeded)';

describe('SMTP parity with Postfix and Dovecot (real daemon)', () => {
  let d: SmtpDaemon;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    d = await startSmtpDaemon(dir, USERS, { smtp: { reject_unknown_sender_domain: true } });
  });
  afterAll(async () => {
    expect(await d.stop()).toBe(0);
    await cleanup();
  });

  /** A session ready for MAIL: greeted, and on submission logged in over TLS. */
  async function open(kind: Kind): Promise<SmtpClient> {
    const plain = await SmtpClient.connect(d.ports[kind]);
    expect(await plain.command(`${kind === 'lmtp' ? 'LHLO' : 'EHLO'} client.remote.example`)).toMatch(/^250[ -]/);
    if (kind !== 'submission') return plain;
    const c = await plain.startTls();
    await c.command('EHLO laptop.example.test');
    expect(await c.auth('alice@example.test', 'alice-pw')).toMatch(/^235 /);
    return c;
  }

  /** A body of `n` bytes with a unique subject. */
  const body = (subject: string, n: number) => {
    const head = `From: alice@example.test\r\nSubject: ${subject}\r\n\r\n`;
    return head + 'x'.repeat(Math.max(0, n - head.length - 2)) + '\r\n';
  };
  const has = async (user: string, subject: string) => (await d.messages(user)).some((m) => m.includes(`Subject: ${subject}\n`));

  it.each(KINDS)('%s: with SIZE=, the over-quota recipient gets 552 5.2.2 at RCPT and the others the message', async (kind) => {
    const c = await open(kind);
    const subject = `sized-${kind}`;
    expect(await c.command('MAIL FROM:<alice@example.test> SIZE=1000')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<bob@example.test>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<small@example.test>')).toBe(OVER_QUOTA);
    expect(await c.command('RCPT TO:<alice@example.test>')).toMatch(/^250 /);
    expect(await c.command('DATA')).toMatch(/^354 /);
    c.send(body(subject, 1000) + '.\r\n');
    const replies = await c.replies(kind === 'lmtp' ? 2 : 1); // LMTP: one per accepted recipient
    for (const r of replies) expect(r).toMatch(/^250 2\.0\.0 /);
    expect(await has('bob', subject)).toBe(true);
    expect(await has('alice', subject)).toBe(true);
    expect(await has('small', subject)).toBe(false);
    // A size that fits is accepted for the same mailbox.
    expect(await c.command('MAIL FROM:<alice@example.test> SIZE=100')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<small@example.test>')).toMatch(/^250 /);
    expect(await c.command('RSET')).toMatch(/^250 /);
    c.close();
  });

  it.each(KINDS)('%s: without SIZE=, the over-quota recipient is found full after DATA', async (kind) => {
    const c = await open(kind);
    const subject = `unsized-${kind}`;
    expect(await c.command('MAIL FROM:<alice@example.test>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<bob@example.test>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<small@example.test>')).toMatch(/^250 /);
    expect(await c.command('DATA')).toMatch(/^354 /);
    c.send(body(subject, 1000) + '.\r\n');
    if (kind === 'lmtp') {
      expect(await c.replies(2)).toEqual([expect.stringMatching(/^250 2\.0\.0 <bob@example\.test> /), OVER_QUOTA]);
    } else {
      expect(await c.next()).toBe(OVER_QUOTA);
    }
    expect(await has('bob', subject)).toBe(true);
    expect(await has('small', subject)).toBe(false);
    // and alone, the same recipient gets the same answer for the message
    expect(await c.command('MAIL FROM:<alice@example.test>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<small@example.test>')).toMatch(/^250 /);
    expect(await c.command('DATA')).toMatch(/^354 /);
    c.send(body(`${subject}-alone`, 1000) + '.\r\n');
    expect(await c.next()).toBe(OVER_QUOTA);
    c.close();
  });

  it('port 25 takes mail from a sender in one of our own domains without looking it up in DNS', async () => {
    const c = await open('smtp');
    // Our domain: no lookup (which would fail here), so relay and recipient checks decide.
    expect(await c.command('MAIL FROM:<alice@example.test>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<bob@example.test>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<nobody@example.test>')).toBe('550 5.1.1 User unknown in virtual mailbox table');
    expect(await c.command('RCPT TO:<someone@remote.example>')).toBe('554 5.7.1 Relay access denied');
    expect(await c.command('RSET')).toMatch(/^250 /);
    // A remote sender's domain is looked up; the lookup fails here: a temporary refusal.
    expect(await c.command('MAIL FROM:<x@remote.example>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<bob@example.test>')).toBe('450 4.1.8 <x@remote.example>: Sender address rejected: Domain not found (DNS temporary failure)');
    c.close();
  });

  it.each(KINDS)('%s: unknown MAIL and RCPT parameters get 555 5.5.4 and change nothing', async (kind) => {
    const c = await open(kind);
    expect(await c.command('MAIL FROM:<alice@example.test> junk')).toBe('555 5.5.4 Unsupported option: JUNK');
    expect(await c.command('MAIL FROM:<alice@example.test> XVERP=yes')).toBe('555 5.5.4 Unsupported option: XVERP=yes');
    // REQUIRETLS is not offered, so it is unknown too (smtp-server would otherwise take it over TLS)
    expect(await c.command('MAIL FROM:<alice@example.test> REQUIRETLS')).toMatch(/^5\d\d /);
    // no transaction was started by any of them
    expect(await c.command('RCPT TO:<bob@example.test>')).toMatch(/^503 /);
    expect(await c.command('MAIL FROM:<alice@example.test> SIZE=10 BODY=8BITMIME')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<bob@example.test> FOO=bar')).toBe('555 5.5.4 Unsupported option: FOO=bar');
    expect(await c.command('RCPT TO:<bob@example.test> NOTIFY=NEVER')).toMatch(/^250 /);
    // RFC 4954 5: AUTH= belongs to submission only
    expect(await c.command('RSET')).toMatch(/^250 /);
    const auth = await c.command('MAIL FROM:<alice@example.test> AUTH=<>');
    if (kind === 'submission') expect(auth).toMatch(/^250 /);
    else expect(auth).toBe('555 5.5.4 Unsupported option: AUTH=<>');
    c.close();
  });

  it('binds the session id to every log line of a session', async () => {
    const c = await open('smtp');
    expect(await c.command('MAIL FROM:<alice@example.test>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<bob@example.test>')).toMatch(/^250 /);
    expect(await c.command('DATA')).toMatch(/^354 /);
    c.send(body('logged', 200) + '.\r\n');
    const reply = await c.next();
    // The queue id: the session's id and the message's number in it.
    const [, id, n] = /queued as ([0-9a-v]{16})\.(\d+)$/.exec(reply) ?? [];
    expect(id).toMatch(/^[0-9a-v]{16}$/);
    expect(n).toBe('1');
    c.close();
    // (the daemon's output arrives through a pipe, a moment after the reply)
    const lines = await eventually(async () => d.running.logs().filter((l) => l.session === id), (l) => l.some((x) => x.msg === 'message taken'));
    expect(lines.map((l) => l.msg)).toContain('message taken');
    expect(lines.every((l) => l.listener === 'smtp' && l.ip === '127.0.0.1')).toBe(true);
    // Every line a listener logs about a client carries the session it belongs to.
    const sessionLines = d.running.logs().filter((l) => 'ip' in l && 'listener' in l);
    expect(sessionLines.length).toBeGreaterThan(0);
    for (const l of sessionLines) expect(l.session, JSON.stringify(l)).toMatch(/^[0-9a-v]{16}$/);
  });
});
