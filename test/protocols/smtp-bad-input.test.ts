/**
 * Malformed and hostile input on every SMTP-family listener of the real tsmail process (MX on
 * the smtp port, submission with STARTTLS, submissions with implicit TLS, LMTP), over raw
 * sockets. Each kind of bad input gets a clear protocol error and changes nothing; the same
 * process then still serves everyone else. Replies are those of Postfix 3.7's smtpd (checked
 * against the real one), except for over-long command lines, which Postfix silently truncates
 * at line_length_limit and tsmail refuses as RFC 5321 4.5.3.1.10 suggests ("500 Line too long").
 */
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST, SmtpClient, eventually, startSmtpDaemon, type SmtpDaemon } from '../helpers/smtp-daemon.js';
import { tempDir } from '../helpers/tmp.js';

type Kind = 'smtp' | 'submission' | 'submissions' | 'lmtp';
const KINDS: Kind[] = ['smtp', 'submission', 'submissions', 'lmtp'];
const RECIPIENT_LIMIT = 5;

describe('bad input on the SMTP listeners of the real daemon', () => {
  let d: SmtpDaemon;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    d = await startSmtpDaemon(dir, 'alice@example.test:{PLAIN}alice-pw:::::\nbob@example.test:{PLAIN}bob-pw:::::\n', {
      // A short smtpd_error_sleep_time: the error limits below are reached without waiting long.
      smtp: { recipient_limit: RECIPIENT_LIMIT, error_sleep_time: '20ms' },
    });
  });
  afterAll(async () => {
    // Still running after everything below, and it stops cleanly.
    expect(d.running.proc.exitCode).toBeNull();
    expect(await d.stop()).toBe(0);
    await cleanup();
  });

  /** A sender each listener accepts from 127.0.0.1 (submission: only the user's own address). */
  const senderFor = (kind: Kind) => (kind.startsWith('submission') ? 'alice@example.test' : 'someone@remote.example');

  /** A session ready for MAIL: greeted, and on submission logged in over TLS. */
  async function open(kind: Kind): Promise<SmtpClient> {
    if (kind === 'smtp' || kind === 'lmtp') {
      const c = await SmtpClient.connect(d.ports[kind]);
      expect(await c.command(`${kind === 'lmtp' ? 'LHLO' : 'EHLO'} client.remote.example`)).toMatch(/^250[ -]/);
      return c;
    }
    let c: SmtpClient;
    if (kind === 'submission') {
      const plain = await SmtpClient.connect(d.ports.submission);
      await plain.command('EHLO laptop.example.test');
      c = await plain.startTls();
    } else {
      c = await SmtpClient.connectTls(d.ports.submissions);
    }
    await c.command('EHLO laptop.example.test');
    expect(await c.auth('alice@example.test', 'alice-pw')).toMatch(/^235 2\.7\.0 /);
    return c;
  }

  /** Sends a whole message the ordinary way (nodemailer) through one listener. */
  async function deliver(kind: Kind, subject: string): Promise<void> {
    const common = { host: '127.0.0.1', port: d.ports[kind], name: 'client.remote.example', tls: { rejectUnauthorized: false } };
    const auth = { user: 'alice@example.test', pass: 'alice-pw' };
    const options = kind === 'lmtp' ? { ...common, lmtp: true }
      : kind === 'smtp' ? { ...common, secure: false }
      : kind === 'submission' ? { ...common, secure: false, requireTLS: true, auth }
      : { ...common, secure: true, auth };
    const info = await nodemailer.createTransport(options as never).sendMail({
      envelope: { from: senderFor(kind), to: ['bob@example.test'] },
      raw: `From: ${senderFor(kind)}\r\nTo: bob@example.test\r\nSubject: ${subject}\r\n\r\nhello\r\n`,
    });
    expect(info.accepted).toEqual(['bob@example.test']);
  }

  const bobHas = async (text: string) => (await d.messages('bob')).filter((m) => m.includes(text));

  describe('EHLO extensions', () => {
    it('submission lists AUTH only once TLS is on (smtpd_tls_auth_only); smtp and lmtp never', async () => {
      const plain = await SmtpClient.connect(d.ports.submission);
      const before = await plain.command('EHLO laptop.example.test');
      expect(before).toMatch(/^250[- ]STARTTLS$/m);
      expect(before).not.toMatch(/AUTH/);
      const secure = await plain.startTls();
      const after = await secure.command('EHLO laptop.example.test');
      expect(after).toMatch(/^250[- ]AUTH PLAIN LOGIN$/m);
      expect(after).not.toMatch(/STARTTLS/);
      secure.close();

      const implicit = await SmtpClient.connectTls(d.ports.submissions);
      expect(await implicit.command('EHLO laptop.example.test')).toMatch(/^250[- ]AUTH PLAIN LOGIN$/m);
      implicit.close();

      const mx = await SmtpClient.connect(d.ports.smtp);
      expect(await mx.command('EHLO client.remote.example')).not.toMatch(/AUTH/);
      const mxTls = await mx.startTls();
      expect(await mxTls.command('EHLO client.remote.example')).not.toMatch(/AUTH/);
      mxTls.close();

      const lmtp = await SmtpClient.connect(d.ports.lmtp);
      expect(await lmtp.command('LHLO client.remote.example')).not.toMatch(/AUTH|STARTTLS/);
      lmtp.close();
    });
  });

  describe.each(KINDS)('%s', (kind) => {
    const sender = senderFor(kind);

    it('refuses a command line over 1000 octets with 500 5.5.2 without running it; the session goes on', async () => {
      const c = await open(kind);
      // RFC 5321 4.5.3.1.6: 1000 octets with the CRLF is still fine.
      expect(await c.command(`NOOP ${'x'.repeat(993)}`)).toMatch(/^250 /);
      expect(await c.command(`MAIL FROM:<${sender}>`.padEnd(999, ' '))).toBe('500 5.5.2 Error: line too long');
      expect(await c.command('RCPT TO:<bob@example.test>')).toBe('503 5.5.1 Error: need MAIL command');
      expect(await c.command(`MAIL FROM:<${sender}>`)).toMatch(/^250 /);
      expect(await c.command('QUIT')).toMatch(/^221 /);
    });

    it('hangs up (421) on a line longer than 16 KB instead of buffering it', async () => {
      const c = await open(kind);
      c.send(`NOOP ${'y'.repeat(20_000)}`);
      expect(await c.next()).toBe(`421 4.7.0 ${HOST} Error: line too long`);
      expect(await c.waitClosed(10_000)).toBe(true);
    });

    it('answers NUL bytes in commands and addresses with 500/501 and delivers nothing', async () => {
      const before = (await d.messages('bob')).length;
      const c = await open(kind);
      expect(await c.command('NO\0OP')).toBe('500 5.5.2 Error: command not recognized');
      const [local, domain] = sender.split('@');
      expect(await c.command(`MAIL FROM:<${local}\0@${domain}>`)).toMatch(/^501 5\.1\.7 .*Bad sender address syntax$/);
      expect(await c.command(`MAIL FROM:<${sender}>`)).toMatch(/^250 /);
      expect(await c.command('RCPT TO:<bo\0b@example.test>')).toMatch(/^501 5\.1\.3 .*Bad recipient address syntax$/);
      expect(await c.command('RCPT TO:<bob@example.test>\0')).toMatch(/^501 5\.1\.3 .*Bad recipient address syntax$/);
      expect(await c.command('DATA')).toBe('554 5.5.1 Error: no valid recipients');
      expect(await c.command('QUIT')).toMatch(/^221 /);
      expect((await d.messages('bob')).length).toBe(before);
    });

    it('refuses invalid UTF-8 in MAIL FROM, RCPT TO and EHLO with 500 5.5.2; valid UTF-8 is looked up as usual', async () => {
      const before = (await d.messages('bob')).length;
      const c = await open(kind);
      const [local, domain] = sender.split('@');
      expect(await c.command(`MAIL FROM:<${local}\xff@${domain}>`)).toBe('500 5.5.2 Error: bad UTF-8 syntax');
      expect(await c.command(`MAIL FROM:<${local}@${domain}\xc3>`)).toBe('500 5.5.2 Error: bad UTF-8 syntax');
      expect(await c.command(`${kind === 'lmtp' ? 'LHLO' : 'EHLO'} h\xe9llo.example`)).toBe('500 5.5.2 Error: bad UTF-8 syntax');
      expect(await c.command(`MAIL FROM:<${sender}>`)).toMatch(/^250 /);
      expect(await c.command('RCPT TO:<b\xf6b@example.test>')).toBe('500 5.5.2 Error: bad UTF-8 syntax');
      // The same address in UTF-8 is well-formed: an unknown user, refused for good.
      expect(await c.command(Buffer.from('RCPT TO:<böb@example.test>\r\n'))).toMatch(/^550 5\.1\.1 /);
      expect(await c.command('DATA')).toBe('554 5.5.1 Error: no valid recipients');
      expect(await c.command('QUIT')).toMatch(/^221 /);
      expect((await d.messages('bob')).length).toBe(before);
    });

    it('answers commands out of sequence with 503/554 5.5.1 and still completes the transaction', async () => {
      const c = await open(kind);
      expect(await c.command('RCPT TO:<bob@example.test>')).toBe('503 5.5.1 Error: need MAIL command');
      expect(await c.command('DATA')).toBe('503 5.5.1 Error: need RCPT command');
      expect(await c.command(`MAIL FROM:<${sender}>`)).toMatch(/^250 /);
      expect(await c.command(`MAIL FROM:<${sender}>`)).toBe('503 5.5.1 Error: nested MAIL command');
      expect(await c.command('DATA')).toBe('554 5.5.1 Error: no valid recipients');
      expect(await c.command('RCPT TO:<bob@example.test>')).toMatch(/^250 /);
      expect(await c.command('DATA')).toMatch(/^354 /);
      expect(await c.command(`Subject: in sequence after all (${kind})\r\n\r\nx\r\n.`)).toMatch(/^250 /);
      expect(await bobHas(`Subject: in sequence after all (${kind})`)).toHaveLength(1);
      c.close();
    });

    it('answers unknown commands with 500 5.5.2 like Postfix, VRFY with 502 5.5.1, and hangs up after too many errors', async () => {
      const c = await open(kind);
      for (const cmd of ['FOO bar', 'HELP', 'WIZ secret', 'SHELL', 'KILL', 'EXPN bob@example.test', 'TURN']) {
        expect(await c.command(cmd), cmd).toBe('500 5.5.2 Error: command not recognized');
      }
      // disable_vrfy_command = yes
      expect(await c.command('VRFY bob@example.test')).toBe('502 5.5.1 VRFY command is disabled');
      expect(await c.command('NOOP')).toMatch(/^250 /);
      expect(await c.command('XYZZY')).toBe('500 5.5.2 Error: command not recognized');
      expect(await c.command('BAD\xff')).toBe('500 5.5.2 Error: bad UTF-8 syntax');
      if (kind === 'lmtp') {
        // LMTP has no Postfix error limits: smtp-server's ten unknown commands.
        expect(await c.command('PLUGH')).toBe(`421 4.7.0 ${HOST} Error: too many errors`);
      } else {
        // smtpd_hard_error_limit: ten errors so far (VRFY's included), 421 right after the 20th.
        for (let i = 0; i < 10; i++) expect(await c.command('PLUGH')).toBe('500 5.5.2 Error: command not recognized');
        expect(await c.next()).toBe(`421 4.7.0 ${HOST} Error: too many errors`);
      }
      expect(await c.waitClosed(10_000)).toBe(true);
    });

    it('refuses a flood of recipients beyond the limit with 452 4.5.3 and keeps the accepted ones', async () => {
      // [smtp] recipient_limit on port 25 and submission; LMTP: smtpd_recipient_limit's default of 1000.
      const limit = kind === 'lmtp' ? 1000 : RECIPIENT_LIMIT;
      const flood = limit + 50;
      const c = await open(kind);
      c.send(`MAIL FROM:<${sender}>\r\n` + Array.from({ length: flood }, (_, i) => `RCPT TO:<bob+${i}@example.test>\r\n`).join(''));
      const replies = await c.replies(flood + 1);
      expect(replies[0]).toMatch(/^250 /);
      expect(replies.slice(1, limit + 1).every((r) => r.startsWith('250 '))).toBe(true);
      expect(new Set(replies.slice(limit + 1))).toEqual(new Set(['452 4.5.3 Error: too many recipients']));
      if (kind === 'smtp') {
        expect(await c.command('DATA')).toMatch(/^354 /);
        expect(await c.command('Subject: after the flood\r\n\r\nx\r\n.')).toMatch(/^250 /);
        expect(await bobHas('Subject: after the flood')).toHaveLength(1);
      } else {
        expect(await c.command('RSET')).toMatch(/^250 /);
      }
      expect(await c.command('QUIT')).toMatch(/^221 /);
    });
  });

  // Message content: submissions shares submission's code after the handshake.
  describe.each(['smtp', 'submission', 'lmtp'] as const)('%s, message content', (kind) => {
    const sender = senderFor(kind);

    it('stores DATA lines longer than 1000 octets whole', async () => {
      const c = await open(kind);
      const medium = 'm'.repeat(5_000);
      const huge = 'h'.repeat(300_000);
      c.send(`MAIL FROM:<${sender}>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n`);
      expect(await c.replies(3)).toEqual([expect.stringMatching(/^250 /), expect.stringMatching(/^250 /), expect.stringMatching(/^354 /)]);
      expect(await c.command(`Subject: long lines (${kind})\r\n\r\nstart\r\n${medium}\r\n${huge}\r\nend\r\n.`)).toMatch(/^250 /);
      const [text] = await bobHas(`Subject: long lines (${kind})`);
      expect(text).toBeDefined();
      expect(text!.endsWith(`\n\nstart\n${medium}\n${huge}\nend\n`)).toBe(true);
      c.close();
    });

    it('takes bare LF as a line end in commands and data (smtpd_forbid_bare_newline = normalize); <LF>.<LF> does not end DATA', async () => {
      const c = await open(kind);
      c.send(`NOOP\nMAIL FROM:<${sender}>\nRCPT TO:<bob@example.test>\nDATA\n`);
      expect(await c.replies(4)).toEqual([
        expect.stringMatching(/^250 /), expect.stringMatching(/^250 /), expect.stringMatching(/^250 /), expect.stringMatching(/^354 /),
      ]);
      // with a From, or submission would add one (Postfix cleanup's missing From:) below X-Bare
      c.send(`From: <${sender}>\nSubject: bare LF (${kind})\nX-Bare: yes\n\nline one\n.\nline two\n..dotted\nlast\r\n.\r\n`);
      expect(await c.next()).toMatch(/^250 /);
      expect(await c.command('NOOP')).toMatch(/^250 /);
      const [text] = await bobHas(`Subject: bare LF (${kind})`);
      expect(text).toBeDefined();
      expect(text).toContain(`Subject: bare LF (${kind})\nX-Bare: yes\n\nline one\n.\nline two\n.dotted\nlast\n`);
      expect(text).not.toContain('\r');
      c.close();
    });
  });

  it('lmtp and smtp want their greeting first (503 5.5.1)', async () => {
    const mx = await SmtpClient.connect(d.ports.smtp);
    expect(await mx.command('MAIL FROM:<someone@remote.example>')).toBe('503 5.5.1 Error: send HELO/EHLO first');
    mx.close();
    const lmtp = await SmtpClient.connect(d.ports.lmtp);
    expect(await lmtp.command('MAIL FROM:<someone@remote.example>')).toBe('503 5.5.1 Error: send LHLO first');
    expect(await lmtp.command('EHLO client.remote.example')).toMatch(/^500 /);
    lmtp.close();
  });

  it('serves other sessions normally while hostile ones are open, and afterwards', async () => {
    // On every listener, hostile sessions stay open in the middle of a garbage line and of DATA ...
    const hostile: SmtpClient[] = [];
    for (const kind of KINDS) {
      const garbage = await open(kind);
      garbage.send(`\xff\0${'z'.repeat(8_000)}`);
      hostile.push(garbage);
      const midData = await open(kind);
      midData.send(`MAIL FROM:<${senderFor(kind)}>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n`);
      await midData.replies(3);
      midData.send('Subject: never finished\r\n\r\nhalf a messa');
      hostile.push(midData);
    }
    // ... while everyone else's mail goes through, on every listener.
    for (const kind of KINDS) await deliver(kind, `while others misbehave (${kind})`);
    for (const kind of KINDS) expect(await bobHas(`Subject: while others misbehave (${kind})`), kind).toHaveLength(1);
    for (const c of hostile) c.close();
    expect(await bobHas('never finished')).toEqual([]);
    expect(d.running.proc.exitCode).toBeNull();
    for (const kind of KINDS) await deliver(kind, `afterwards (${kind})`);
    for (const kind of KINDS) expect(await bobHas(`Subject: afterwards (${kind})`), kind).toHaveLength(1);
    // The LMTP session streamed its half message into tmp/; gone once the server saw the close.
    expect(await eventually(() => d.tmpFiles('bob'), (files) => files.length === 0)).toEqual([]);
  });
});
