/**
 * The login path under attack, through the real daemon process on 465 (implicit TLS), with raw
 * SMTP clients. `[security] ignoreip = []` and `[smtp] mynetworks = []` make every loopback
 * address a stranger on the internet; each test plays its attacker from its own address
 * (127.0.0.10, .11, ...: Linux routes all of 127/8 to loopback), so per-IP counts stay apart.
 * Delays are Dovecot's auth_failure_delay made small (`auth_failure_delay = 0.05`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cryptSync } from '../../src/directory/schemes/crypt/crypt.js';
import { SmtpClient, type SmtpDaemon, eventually, startSmtpDaemon } from '../helpers/smtp-daemon.js';
import { tempDir } from '../helpers/tmp.js';

const DELAY_S = 0.05;
const BAN_S = 4;

/** `p\xE9ss-bob`: 'é' as one latin1 byte, which is not UTF-8. */
const BOB_PASSWORD = Buffer.from('p\xe9ss-bob', 'latin1');
const LONG_PASSWORD = 'x'.repeat(600);
const LONGEST_PASSWORD = 'y'.repeat(511);

/** RFC 4616 PLAIN message, base64. */
function plain(authzid: string, user: string, password: string | Buffer): string {
  const pw = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  return Buffer.concat([Buffer.from(authzid), Buffer.from([0]), Buffer.from(user), Buffer.from([0]), pw]).toString('base64');
}

const code = (reply: string) => reply.slice(0, 3);

describe('logins under attack (real daemon, 465)', () => {
  let cleanup: () => Promise<void>;
  let daemon: SmtpDaemon;
  const open: SmtpClient[] = [];

  /** A TLS client from `ip`, past EHLO. */
  async function client(ip: string): Promise<SmtpClient> {
    const c = await SmtpClient.connectTls(daemon.ports.submissions, ip);
    open.push(c);
    expect(code(await c.command('EHLO laptop.example.test'))).toBe('250');
    return c;
  }

  beforeAll(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    const users = [
      'alice@example.test:{PLAIN}alice-pw:::::',
      'eve@example.test:{PLAIN}eve-pw:::::',
      `bob@example.test:{SHA512-CRYPT}${cryptSync('$6$bobsalt0123456$', BOB_PASSWORD)}:::::`,
      `dave@example.test:{SHA512-CRYPT}${cryptSync('$6$davesalt012345$', 'dave-pw')}:::::`,
      // the stored password is exactly the overlong one: only the length can refuse it
      `carol@example.test:{PLAIN}${LONG_PASSWORD}:::::`,
      `frank@example.test:{PLAIN}${LONGEST_PASSWORD}:::::`,
    ].join('\n') + '\n';
    daemon = await startSmtpDaemon(dir, users, {
      security: { ignoreip: [], auth_max_failures: 5, auth_failure_window: 600, auth_ban_time: BAN_S, auth_failure_delay: DELAY_S },
    });
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await daemon?.stop();
    await cleanup?.();
  });

  it('drops a connection after 3 failed AUTHs, bans the IP at the threshold, closes its open connections and refuses even the right password', async () => {
    const ip = '127.0.0.10';
    const idle = await client(ip);
    // 40 guesses pipelined on one connection: the third failure ends it.
    const c1 = await client(ip);
    c1.send(Array.from({ length: 40 }, (_, i) => `AUTH PLAIN ${plain('', 'eve@example.test', `guess${i}`)}\r\n`).join(''));
    const first = await c1.replies(3);
    expect(first.map(code)).toEqual(['535', '535', '421']);
    expect(first[0]).toBe('535 5.7.8 Error: authentication failed');
    expect(first[2]).toMatch(/^421 4\.7\.0 mx\.example\.test Error: too many errors/);
    expect(await c1.waitClosed(5000)).toBe(true);
    expect(c1.all.match(/^\d{3} /gm)!.length).toBe(1 + 1 + 3); // greeting, EHLO, three answers: no more
    expect(idle.closed).toBe(false);

    // Failures count per IP whatever the connection: the 4th and 5th reach the threshold.
    const c2 = await client(ip);
    expect(code(await c2.command(`AUTH PLAIN ${plain('', 'eve@example.test', 'guess40')}`))).toBe('535');
    expect(code(await c2.command(`AUTH PLAIN ${plain('', 'eve@example.test', 'guess41')}`))).toBe('535');
    // The IP's other open connection is closed at once...
    expect(await idle.waitClosed(5000)).toBe(true);
    expect(idle.all).toMatch(/^421 4\.7\.0 Too many failed logins/m);
    // ...and on the one still open, the right password meets the ban: 421, not 235.
    expect(await c2.command(`AUTH PLAIN ${plain('', 'eve@example.test', 'eve-pw')}`)).toMatch(/^421 4\.7\.0 /);
    expect(await c2.waitClosed(5000)).toBe(true);
    // New connections are refused before the greeting.
    const late = await SmtpClient.connectTls(daemon.ports.submissions, ip);
    open.push(late);
    expect(late.all).toMatch(/^421 4\.7\.0 /);
    // Another address is not affected.
    const other = await client('127.0.0.9');
    expect(await other.command(`AUTH PLAIN ${plain('', 'alice@example.test', 'alice-pw')}`)).toBe('235 2.7.0 Authentication successful');
  });

  it('keeps counting through the ban: one failure after it expires bans again', async () => {
    const ip = '127.0.0.18';
    const guess = (c: SmtpClient, i: number) => c.command(`AUTH PLAIN ${plain('', `nobody${i}@example.test`, 'guess')}`);
    const c1 = await client(ip);
    for (let i = 0; i < 2; i++) expect(code(await guess(c1, i))).toBe('535');
    const c2 = await client(ip);
    for (let i = 2; i < 4; i++) expect(code(await guess(c2, i))).toBe('535');
    expect(code(await guess(c2, 4))).toBe('421'); // the fifth failure: this connection's third
    const banned = await SmtpClient.connectTls(daemon.ports.submissions, ip);
    open.push(banned);
    expect(banned.all).toMatch(/^421 4\.7\.0 /);
    const greeting = await eventually(async () => {
      const c = await SmtpClient.connectTls(daemon.ports.submissions, ip);
      open.push(c);
      return c;
    }, (c) => c.all.startsWith('220'), 3 * BAN_S * 1000);
    expect(greeting.all).toMatch(/^220 /);
    expect(code(await greeting.command('EHLO laptop.example.test'))).toBe('250');
    // Had the count restarted when the ban began, one failure would be far from the threshold of 5.
    expect(code(await guess(greeting, 5))).toBe('535');
    const after = await SmtpClient.connectTls(daemon.ports.submissions, ip);
    open.push(after);
    expect(after.all).toMatch(/^421 4\.7\.0 /);
  });

  it('refuses an authorization identity other than the login (no master users), logging in as nobody', async () => {
    const c = await client('127.0.0.11');
    // user99 asking to act as alice with alice's password, and the reverse
    expect(await c.command(`AUTH PLAIN ${plain('user99@example.test', 'alice@example.test', 'alice-pw')}`)).toBe('535 5.7.8 Error: authentication failed');
    expect(code(await c.command('MAIL FROM:<alice@example.test>'))).toBe('530');
    const d = await client('127.0.0.11');
    expect(code(await d.command(`AUTH PLAIN ${plain('alice@example.test', 'user99@example.test', 'alice-pw')}`))).toBe('535');
    expect(code(await d.command('MAIL FROM:<user99@example.test>'))).toBe('530');
    // An authzid equal to the login is no master login: RFC 4616 allows it.
    expect(code(await d.command(`AUTH PLAIN ${plain('alice@example.test', 'alice@example.test', 'alice-pw')}`))).toBe('235');
    expect(code(await d.command('MAIL FROM:<alice@example.test>'))).toBe('250');
  });

  it('compares password bytes: a non-UTF-8 password verifies as sent, its U+FFFD look-alike does not', async () => {
    const c = await client('127.0.0.12');
    const lookAlike = Buffer.from(BOB_PASSWORD.toString('utf8'), 'utf8'); // 0xE9 → EF BF BD
    expect(lookAlike.equals(BOB_PASSWORD)).toBe(false);
    expect(code(await c.command(`AUTH PLAIN ${plain('', 'bob@example.test', lookAlike)}`))).toBe('535');
    expect(await c.command(`AUTH PLAIN ${plain('', 'bob@example.test', BOB_PASSWORD)}`)).toBe('235 2.7.0 Authentication successful');
    // LOGIN too, answering its Username:/Password: challenges
    const l = await client('127.0.0.12');
    expect(await l.command('AUTH LOGIN')).toBe('334 VXNlcm5hbWU6');
    expect(await l.command(Buffer.from('bob@example.test').toString('base64'))).toBe('334 UGFzc3dvcmQ6');
    expect(code(await l.command(BOB_PASSWORD.toString('base64')))).toBe('235');
  });

  it('refuses user names with white space around them instead of trimming them into another user', async () => {
    const c = await client('127.0.0.13');
    expect(code(await c.command(`AUTH PLAIN ${plain('', ' alice@example.test', 'alice-pw')}`))).toBe('535');
    expect(code(await c.command(`AUTH PLAIN ${plain('', 'alice@example.test\t', 'alice-pw')}`))).toBe('535');
    expect(code(await c.command('MAIL FROM:<alice@example.test>'))).toBe('530');
    const l = await client('127.0.0.13');
    expect(await l.command('AUTH LOGIN')).toBe('334 VXNlcm5hbWU6');
    expect(code(await l.command(Buffer.from('alice@example.test ').toString('base64')))).toBe('535');
  });

  it('refuses passwords of 512 bytes and more, even when that is exactly the stored one', async () => {
    const c = await client('127.0.0.14');
    expect(code(await c.command(`AUTH PLAIN ${plain('', 'carol@example.test', LONG_PASSWORD)}`))).toBe('535');
    // 511 bytes still log in
    expect(code(await c.command(`AUTH PLAIN ${plain('', 'frank@example.test', LONGEST_PASSWORD)}`))).toBe('235');
  });

  it('answers a wrong password and an unknown user only after the failure delay', async () => {
    const timed = async (ip: string, user: string, password: string) => {
      const c = await client(ip);
      const started = performance.now();
      const reply = await c.command(`AUTH PLAIN ${plain('', user, password)}`);
      return { reply, ms: performance.now() - started };
    };
    const wrong = await timed('127.0.0.15', 'dave@example.test', 'not-dave-pw');
    const unknown = await timed('127.0.0.16', 'ghost@example.test', 'whatever');
    expect(code(wrong.reply)).toBe('535');
    expect(unknown.reply).toBe(wrong.reply);
    // timers may round down by a millisecond
    expect(wrong.ms).toBeGreaterThanOrEqual(DELAY_S * 1000 - 1);
    expect(unknown.ms).toBeGreaterThanOrEqual(DELAY_S * 1000 - 1);
  });

  it('answers AUTH protocol errors as Postfix does', async () => {
    const c = await client('127.0.0.17');
    expect(await c.command('AUTH')).toBe('501 5.5.4 Syntax: AUTH mechanism');
    expect(await c.command('AUTH CRAM-MD5')).toBe('504 5.5.4 Unrecognized authentication type');
    expect(await c.command('AUTH PLAIN')).toBe('334 ');
    expect(await c.command('*')).toBe('501 5.7.0 Authentication aborted');
    // not base64: a failed login like any other
    expect(await c.command('AUTH PLAIN !!!!')).toBe('535 5.7.8 Error: authentication failed');
    expect(code(await c.command(`AUTH PLAIN ${plain('', 'alice@example.test', 'alice-pw')}`))).toBe('235');
    expect(await c.command(`AUTH PLAIN ${plain('', 'alice@example.test', 'alice-pw')}`)).toBe('503 5.5.1 Error: already authenticated');
  });
});
