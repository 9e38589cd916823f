/**
 * The header section of mail taken in, attacked against the real daemon over raw sockets
 * (issue 10): the submission From/Sender check however the fields are written or hidden, the
 * headers Postfix drops (message_drop_headers), forged Authentication-Results with our
 * authserv-id on port 25 and submission, and the hop count. A refused message leaves nothing in
 * a mailbox or the outbound queue, and the next client is served.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST, SmtpClient, startSmtpDaemon, type SmtpDaemon } from '../helpers/smtp-daemon.js';
import { tempDir } from '../helpers/tmp.js';

const REMOTE = 'friend@elsewhere.example';

describe('message headers on port 25 and submission (real daemon)', () => {
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

  /** The queued messages (data_dir/queue/queued/<id>) as latin1 text. */
  async function queued(): Promise<string[]> {
    const q = path.join(d.dataDir, 'queue', 'queued');
    const names = (await readdir(q).catch(() => [] as string[])).filter((n) => !n.endsWith('.json'));
    return Promise.all(names.map((n) => readFile(path.join(q, n), 'latin1')));
  }

  /** Whether any mailbox copy or queued copy holds `marker`. */
  async function anywhere(marker: string): Promise<boolean> {
    const all = [...(await d.messages('bob')), ...(await d.messages('alice')), ...(await queued())];
    return all.some((t) => t.includes(marker));
  }

  /** Submits `text` as alice over STARTTLS; the reply to the final dot. */
  async function submit(text: string, to: string[] = ['bob@example.test'], from = 'alice@example.test'): Promise<string> {
    const plain = await SmtpClient.connect(d.ports.submission);
    await plain.command('EHLO laptop.example.test');
    const c = await plain.startTls();
    await c.command('EHLO laptop.example.test');
    expect(await c.auth('alice@example.test', 'alice-pw')).toMatch(/^235 /);
    expect(await c.command(`MAIL FROM:<${from}>`)).toMatch(/^250 /);
    for (const rcpt of to) expect(await c.command(`RCPT TO:<${rcpt}>`)).toMatch(/^250 /);
    expect(await c.command('DATA')).toMatch(/^354 /);
    c.send(text + '.\r\n');
    const reply = await c.next();
    c.close();
    return reply;
  }

  /** Sends `text` to bob on port 25 from a client on the internet; the reply to the final dot. */
  async function mx(text: string): Promise<string> {
    const c = await SmtpClient.connect(d.ports.smtp);
    expect(await c.command('EHLO mail.remote.example')).toMatch(/^250[ -]/);
    expect(await c.command('MAIL FROM:<someone@remote.example>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<bob@example.test>')).toMatch(/^250 /);
    expect(await c.command('DATA')).toMatch(/^354 /);
    c.send(text + '.\r\n');
    const reply = await c.next();
    c.close();
    return reply;
  }

  /** The one stored copy in bob's mailbox holding `marker`. */
  async function bobs(marker: string): Promise<string> {
    const found = (await d.messages('bob')).filter((t) => t.includes(marker));
    expect(found).toHaveLength(1);
    return found[0]!;
  }

  const padding = (kb: number) => Array.from({ length: kb }, (_, i) => `X-Pad-${i}: ${'p'.repeat(1000)}\r\n`).join('');
  const NOT_OWNED = '553 5.7.1 <ceo@evil.example>: Sender address rejected: not owned by user alice@example.test';

  describe('submission From/Sender check (reject_sender_login_mismatch)', () => {
    const attacks: [string, string, string][] = [
      ['a space before the colon (obs-optional)', 'From : CEO <ceo@evil.example>\r\n', NOT_OWNED],
      ['a From after 300 KB of padding fields', `From: alice@example.test\r\n${padding(300)}From: CEO <ceo@evil.example>\r\n`, NOT_OWNED],
      ['a From after one folded 300 KB field', `X-Big: x\r\n${' y\r\n'.repeat(100_000)}From: CEO <ceo@evil.example>\r\n`, NOT_OWNED],
      ['a From with only an encoded word', 'From: =?utf-8?B?Y2VvQGV2aWwuZXhhbXBsZQ==?=\r\n',
        '553 5.7.1 Sender address rejected: From: header without a valid address'],
      ['a From of garbage', 'From: the boss\r\n', '553 5.7.1 Sender address rejected: From: header without a valid address'],
      ['an empty group as From', 'From: undisclosed:;\r\n', '553 5.7.1 Sender address rejected: From: header without a valid address'],
      ['a Sender that is not hers beside her From', 'From: alice@example.test\r\nSender: ceo@evil.example\r\n', NOT_OWNED],
      ['a lower-case obs Sender', 'From: alice@example.test\r\nsender\t:ceo@evil.example\r\n', NOT_OWNED],
      ['a second From that is not hers', 'From: alice@example.test\r\nFrom: ceo@evil.example\r\n', NOT_OWNED],
      ['a second address in her From', 'From: alice@example.test, ceo@evil.example\r\n', NOT_OWNED],
      ['a folded From', 'From: Alice\r\n <ceo@evil.example>\r\n', NOT_OWNED],
      // read as ceo's by some, as alice's by others: neither is taken
      ['her address as display name of another', 'From: alice@example.test <ceo@evil.example>\r\n',
        '553 5.7.1 Sender address rejected: From: header without a valid address'],
      ['another address after her angle address', 'From: <alice@example.test> ceo@evil.example\r\n',
        '553 5.7.1 Sender address rejected: From: header without a valid address'],
      // each her own (plus addressing), but no message needs a hundred senders looked up
      ['a From naming 150 of her addresses', `From: ${Array.from({ length: 150 }, (_, i) => `alice+${i}@example.test`).join(',\r\n ')}\r\n`,
        '553 5.7.1 Sender address rejected: From: header without a valid address'],
      ['a From too large to read whole', `From: alice@example.test,\r\n${' alice@example.test,\r\n'.repeat(6000)} alice@example.test\r\n`,
        '553 5.7.1 Sender address rejected: From: header without a valid address'],
    ];

    it.each(attacks)('refuses %s, and nothing is stored or queued', async (_what, fields, reply) => {
      const marker = `attack-${Math.random().toString(36).slice(2)}`;
      expect(await submit(`${fields}Subject: ${marker}\r\n\r\nbody\r\n`, ['bob@example.test', REMOTE])).toBe(reply);
      expect(await anywhere(marker)).toBe(false);
    });

    it('takes her own addresses however written, folded, with comments and display names', async () => {
      const text = 'From: "Alice (work)" <alice@example.test>,\r\n alice+x@example.test (me)\r\nSender : <alice@example.test>\r\nSubject: own-froms\r\n\r\nhi\r\n';
      expect(await submit(text)).toMatch(/^250 2\.0\.0 /);
      expect(await bobs('own-froms')).toContain('From: "Alice (work)" <alice@example.test>,\n alice+x@example.test (me)\nSender : <alice@example.test>\n');
    });

    it('gives a message without From one made from the envelope sender, in the mailbox and the queue', async () => {
      expect(await submit('Subject: no-from\r\nTo: bob@example.test\r\n\r\nbody\r\n', ['bob@example.test', REMOTE])).toMatch(/^250 2\.0\.0 /);
      const stored = await bobs('no-from');
      expect(stored).toContain('Subject: no-from\nTo: bob@example.test\nFrom: <alice@example.test>\n\nbody\n');
      const q = (await queued()).filter((t) => t.includes('no-from'));
      expect(q).toHaveLength(1);
      expect(q[0]).toContain('Subject: no-from\r\nTo: bob@example.test\r\nFrom: <alice@example.test>\r\n\r\nbody\r\n');
      // a message that is all header gets it too
      expect(await submit('Subject: no-from-no-body\r\n')).toMatch(/^250 /);
      expect(await bobs('no-from-no-body')).toMatch(/Subject: no-from-no-body\nFrom: <alice@example\.test>\n$/);
    });
  });

  describe('message_drop_headers (Bcc, Resent-Bcc, Content-Length, Return-Path)', () => {
    it('removes them before storing and queueing, however written; our Return-Path stays the only one', async () => {
      const text = 'From: alice@example.test\r\nTo: bob@example.test\r\nBcc: hidden1@elsewhere.example\r\n'
        + 'BCC :\r\n hidden2@elsewhere.example\r\nResent-Bcc: hidden3@elsewhere.example\r\nContent-Length: 12\r\n'
        + 'Return-Path: <ceo@evil.example>\r\nSubject: drop-headers\r\n\r\nBcc: a body line stays\r\n';
      expect(await submit(text, ['bob@example.test', REMOTE, 'hidden1@elsewhere.example'])).toMatch(/^250 2\.0\.0 /);
      const q = (await queued()).filter((t) => t.includes('drop-headers'));
      expect(q).toHaveLength(1);
      const stored = await bobs('drop-headers');
      for (const copy of [q[0]!, stored]) {
        expect(copy).not.toMatch(/hidden[123]|Content-Length|ceo@evil/i);
        expect(copy).toMatch(/\r?\n\r?\nBcc: a body line stays\r?\n$/);
      }
      expect(stored.match(/^Return-Path:/gim)).toEqual(['Return-Path:']);
      expect(stored).toMatch(/^Return-Path: <alice@example\.test>\n/);
      expect(q[0]).not.toMatch(/^Return-Path:/im);
    });

    it('removes them on port 25 too', async () => {
      const text = 'From: someone@remote.example\r\nbcc: hidden4@elsewhere.example\r\nReturn-Path: <x@evil.example>\r\nSubject: drop-on-25\r\n\r\nbody\r\n';
      expect(await mx(text)).toMatch(/^250 /);
      const stored = await bobs('drop-on-25');
      expect(stored).not.toMatch(/hidden4|evil/);
      expect(stored).toMatch(/^Return-Path: <someone@remote\.example>\nDelivered-To: bob@example\.test\n/);
    });
  });

  describe('forged Authentication-Results with our authserv-id (RFC 8601 5)', () => {
    const forged = [
      `Authentication-Results : ${HOST}; dmarc=pass (obs space)\r\n`,
      `Authentication-Results: (our filter) ${HOST.toUpperCase()}; dmarc=pass (comment first)\r\n`,
      `authentication-results:\r\n (a;b) "${HOST}." 1;\r\n dkim=pass (folded, quoted, versioned)\r\n`,
      `Authentication-Results: (unclosed ${HOST}; dmarc=pass\r\n`,
    ].join('');
    const foreign = 'Authentication-Results: relay.other.example; spf=pass smtp.mailfrom=x@other.example\r\n';

    it.each(['port 25', 'submission'] as const)('removes them on %s however written, also after 300 KB of headers, keeping others', async (via) => {
      const marker = `ar-${via.replace(' ', '')}`;
      const from = via === 'port 25' ? 'someone@remote.example' : 'alice@example.test';
      const text = `From: ${from}\r\n${forged}${padding(300)}${forged}${foreign}Subject: ${marker}\r\n\r\nAuthentication-Results: ${HOST}; in the body stays\r\n`;
      expect(await (via === 'port 25' ? mx(text) : submit(text))).toMatch(/^250 /);
      const stored = await bobs(marker);
      const head = stored.slice(0, stored.indexOf('\n\n'));
      expect(head).not.toMatch(/dmarc=pass|dkim=pass/);
      expect(head).not.toContain(HOST.toUpperCase());
      expect(head).toContain(foreign.trimEnd());
      expect(stored).toContain(`\n\nAuthentication-Results: ${HOST}; in the body stays\n`);
    });
  });

  describe('hopcount_limit (50, our own Received counted as Postfix does)', () => {
    const hops = (n: number) => Array.from({ length: n }, (_, i) => {
      const name = ['Received', 'received', 'RECEIVED :', 'Received\t:'][i % 4];
      return `${name}: from hop${i}.example by hop${i + 1}.example;\r\n Thu, 3 Dec 2026 10:00:00 +0000\r\n`;
    }).join('');

    it('refuses a message with 49 Received fields (554 5.4.6), takes one with 48, on port 25 and submission', async () => {
      expect(await mx(`${hops(49)}From: someone@remote.example\r\nSubject: hops-49-mx\r\n\r\nx\r\n`)).toBe('554 5.4.6 Error: too many hops');
      expect(await submit(`${hops(49)}From: alice@example.test\r\nSubject: hops-49-sub\r\n\r\nx\r\n`, ['bob@example.test', REMOTE]))
        .toBe('554 5.4.6 Error: too many hops');
      // after 300 KB of other fields too
      expect(await mx(`${padding(300)}${hops(49)}Subject: hops-49-deep\r\n\r\nx\r\n`)).toBe('554 5.4.6 Error: too many hops');
      for (const m of ['hops-49-mx', 'hops-49-sub', 'hops-49-deep']) expect(await anywhere(m)).toBe(false);
      // Received lines in the body are not hops
      expect(await mx(`${hops(48)}Subject: hops-48-mx\r\n\r\n${hops(10)}`)).toMatch(/^250 /);
      expect(await submit(`${hops(48)}From: alice@example.test\r\nSubject: hops-48-sub\r\n\r\nx\r\n`)).toMatch(/^250 /);
      expect((await bobs('hops-48-mx')).match(/^received\s*:/gim)).toHaveLength(49 + 10);
      await bobs('hops-48-sub');
    });
  });
});
