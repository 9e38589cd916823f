/**
 * Stray line ends in DATA, end to end through the real tsmail process on port 25, submission
 * and LMTP, read back from the Maildir file: a bare LF ends a line, and so does a lone CR, CRs
 * right before a line end belong to it (src/core/line-ends.ts says why), every stored line ends
 * in LF and nothing else changes; S= is the file's size and W= its size with CRLF line ends.
 * The line ends are made proper as DATA comes in, so the checks made before storing see the
 * lines that are stored.
 *
 * DATA itself is cut by smtp-server, which ends it only at <CRLF>.<CRLF> and takes a dot off the
 * start of a line only after an LF (CRLF or bare LF), never after a lone CR — as Postfix's smtpd
 * and Dovecot's LMTP do. So a dot line after a stray line end is message text: it cannot end DATA
 * early (SMTP smuggling), and after a lone CR it is not unstuffed.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpClient, startSmtpDaemon, type SmtpDaemon } from '../helpers/smtp-daemon.js';
import { tempDir } from '../helpers/tmp.js';

type Kind = 'smtp' | 'submission' | 'lmtp';

/** Where two long texts part, with a little context (a failing toBe on 300 KB strings takes minutes to diff). */
function firstDifference(got: string, want: string): string | null {
  if (got === want) return null;
  let i = 0;
  while (got[i] === want[i]) i++;
  const around = (s: string) => JSON.stringify(s.slice(Math.max(0, i - 20), i + 20));
  return `at ${i} of ${got.length} (want ${want.length}): got ${around(got)}, want ${around(want)}`;
}

describe('stray CR and LF in DATA, stored by the real daemon', () => {
  let d: SmtpDaemon;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    d = await startSmtpDaemon(dir, 'alice@example.test:{PLAIN}alice-pw:::::\nbob@example.test:{PLAIN}bob-pw:::::\n');
  });
  afterAll(async () => {
    expect(await d.stop()).toBe(0);
    await cleanup();
  });

  /** A session with MAIL, RCPT and DATA done, ready for the message text. */
  async function startData(kind: Kind): Promise<SmtpClient> {
    let c: SmtpClient;
    if (kind === 'submission') {
      const plain = await SmtpClient.connect(d.ports.submission);
      await plain.command('EHLO laptop.example.test');
      c = await plain.startTls();
      await c.command('EHLO laptop.example.test');
      expect(await c.auth('alice@example.test', 'alice-pw')).toMatch(/^235 /);
    } else {
      c = await SmtpClient.connect(d.ports[kind]);
      expect(await c.command(`${kind === 'lmtp' ? 'LHLO' : 'EHLO'} client.remote.example`)).toMatch(/^250[ -]/);
    }
    const sender = kind === 'submission' ? 'alice@example.test' : 'someone@remote.example';
    expect(await c.command(`MAIL FROM:<${sender}>`)).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<bob@example.test>')).toMatch(/^250 /);
    expect(await c.command('DATA')).toMatch(/^354 /);
    return c;
  }

  /** Sends `text` (latin1) and the final dot; expects one success reply and no other. */
  async function send(kind: Kind, text: string): Promise<void> {
    const c = await startData(kind);
    // A submission without From would get one added at the end of its header section (Postfix
    // cleanup's missing From:): give it one on top, away from the lines these tests compare.
    c.send((kind === 'submission' ? 'From: alice@example.test\r\n' : '') + text + '.\r\n');
    expect(await c.next()).toMatch(kind === 'lmtp' ? /^250 2\.0\.0 <bob@example\.test>/ : /^250 2\.0\.0 Ok: queued as /);
    // Nothing in the text was taken for a command: the next reply is this QUIT's.
    expect(await c.command('QUIT')).toMatch(/^221 /);
    c.close();
  }

  /** The one file in bob's new/ holding `marker`: its name, its text (latin1) and its size on disk. */
  async function stored(marker: string): Promise<{ name: string; text: string; size: number }> {
    const dir = path.join(d.dataDir, 'vmail', 'example.test', 'bob', 'new');
    const found = [];
    for (const name of await readdir(dir)) {
      const text = await readFile(path.join(dir, name), 'latin1');
      if (text.includes(marker)) found.push({ name, text, size: (await stat(path.join(dir, name))).size });
    }
    expect(found).toHaveLength(1);
    return found[0]!;
  }

  /** Every line ends in LF, and the name's S= and W= are the size and the size with CRLF line ends. */
  function expectWellFormed(file: { name: string; text: string; size: number }): void {
    expect(file.text).not.toContain('\r');
    expect(file.text.endsWith('\n')).toBe(true);
    const m = /,S=(\d+),W=(\d+)$/.exec(file.name);
    expect(m, file.name).not.toBeNull();
    expect(Number(m![1])).toBe(file.size);
    expect(Number(m![2])).toBe(file.size + file.text.split('\n').length - 1);
  }

  describe.each(['smtp', 'submission', 'lmtp'] as const)('%s', (kind) => {
    it('ends a line at each bare LF and at each lone CR, keeping all other bytes', async () => {
      const subject = `Subject: stray line ends (${kind})`;
      await send(kind,
        `${subject}\r\n` +
        'X-Bare-LF: a field ended by a bare LF\n' +
        'X-CR-CR-LF: a field ended by CR CR LF\r\r\n' +
        'X-Lone-CR: a lone CR\rin a field\r\n' +
        '\r\n' +
        'crlf\r\n' +
        'bare lf\n' +
        'bare cr\r' +
        'cr cr lf\r\r\n' +
        'cr cr cr lf\r\r\r\n' +
        'two lone crs\r\r' +
        'lf then cr\n\r' +
        'eight-bit caf\xc3\xa9 \xff\x01\x7f\tend\r\n' +
        'no unstuffing after a lone CR\r..x\r\n' +
        '..unstuffed after CRLF\r\n' +
        'unstuffed after a bare LF\n..y\r\n' +
        'last\r\n');
      const file = await stored(subject);
      expect(file.text.slice(file.text.indexOf(subject))).toBe(
        `${subject}\n` +
        'X-Bare-LF: a field ended by a bare LF\n' +
        'X-CR-CR-LF: a field ended by CR CR LF\n' +
        'X-Lone-CR: a lone CR\n' +
        'in a field\n' +
        '\n' +
        'crlf\n' +
        'bare lf\n' +
        'bare cr\n' +
        'cr cr lf\n' +
        'cr cr cr lf\n' +
        'two lone crs\n\n' +
        'lf then cr\n\n' +
        'eight-bit caf\xc3\xa9 \xff\x01\x7f\tend\n' +
        'no unstuffing after a lone CR\n..x\n' +
        '.unstuffed after CRLF\n' +
        'unstuffed after a bare LF\n.y\n' +
        'last\n');
      expectWellFormed(file);
    });

    it('lets the checks before storage see a field that starts after a lone CR, as it is stored', async () => {
      // Submission checks the From fields against the login (Postfix reject_sender_login_mismatch);
      // a lone CR that became a line end only on disk would let a From field slip past it.
      const subject = `Subject: a From field behind a lone CR (${kind})`;
      const c = await startData(kind);
      c.send(`${subject}\rFrom: bob@example.test\r\nX-Other: 1\r\n\r\nbody\r\n.\r\n`);
      if (kind === 'submission') {
        expect(await c.next()).toBe('553 5.7.1 <bob@example.test>: Sender address rejected: not owned by user alice@example.test');
        c.close();
        expect((await d.messages('bob')).some((m) => m.includes(subject))).toBe(false);
        return;
      }
      expect(await c.next()).toMatch(/^250 /);
      c.close();
      const file = await stored(subject);
      expect(file.text.slice(file.text.indexOf(subject))).toBe(`${subject}\nFrom: bob@example.test\nX-Other: 1\n\nbody\n`);
      expectWellFormed(file);
    });

    it('takes a dot line after a stray line end for text, not the end of DATA', async () => {
      const subject = `Subject: dots after stray line ends (${kind})`;
      await send(kind,
        `${subject}\r\n\r\n` +
        'lone cr dot crlf\r.\r\nRSET\r\n' +
        'lf dot lf\n.\nMAIL FROM:<evil@remote.example>\r\n' +
        'crlf dot cr\r\n.\rNOOP\r\n' +
        'lf dot crlf\n.\r\nRCPT TO:<alice@example.test>\r\n' +
        'cr dot cr\r.\rDATA\r\n' +
        'end\r\n');
      const file = await stored(subject);
      expect(file.text.slice(file.text.indexOf(subject))).toBe(
        `${subject}\n\n` +
        'lone cr dot crlf\n.\nRSET\n' +
        'lf dot lf\n.\nMAIL FROM:<evil@remote.example>\n' +
        'crlf dot cr\n.\nNOOP\n' +
        'lf dot crlf\n.\nRCPT TO:<alice@example.test>\n' +
        'cr dot cr\n.\nDATA\n' +
        'end\n');
      expectWellFormed(file);
    });

    it('converts a large message whose stray CRs fall on the reads\' boundaries wherever they are', async () => {
      const subject = `Subject: large (${kind})`;
      const unit = 'x\r\ny\rz\nw\r\r\nv\r\r';
      const count = 20_000;
      await send(kind, `${subject}\r\n\r\n${unit.repeat(count)}end\r\n`);
      const file = await stored(subject);
      expect(firstDifference(file.text.slice(file.text.indexOf(subject)), `${subject}\n\n${'x\ny\nz\nw\nv\n\n'.repeat(count)}end\n`)).toBeNull();
      expectWellFormed(file);
    });
  });
});
