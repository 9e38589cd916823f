import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImapDaemon, type ImapDaemon } from '../../helpers/imap-daemon.js';
import { RawImap } from '../../helpers/imap-raw.js';
import { eventually } from '../../helpers/smtp-daemon.js';
import { tempDir } from '../../helpers/tmp.js';

describe('IMAP APPEND: streamed literal, limits, and nothing left by a client that goes away', () => {
  let d: ImapDaemon;
  let cleanup: () => Promise<void>;
  const inbox = () => path.join(d.dataDir, 'vmail/example.test/alice');
  const files = async (sub: string) => (await readdir(path.join(inbox(), sub)).catch(() => [] as string[]));

  beforeAll(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    d = await startImapDaemon(t.dir, { mail: { max_message_size: '100k' } });
  }, 30_000);
  afterAll(async () => {
    await d?.stop();
    await cleanup?.();
  });

  const login = async () => {
    const { client } = await RawImap.connect(d.imapPort);
    expect((await client.command('l', 'LOGIN alice@example.test alice-pw')).at(-1)).toMatch(/^l OK/);
    return client;
  };

  it('asks for a synchronizing literal with +, stores flags and date, answers APPENDUID', async () => {
    const c = await login();
    const m = 'Subject: sync\r\n\r\nhello\r\n';
    c.send(`a APPEND INBOX (\\Seen $Work) "07-Dec-2026 10:00:00 +0000" {${m.length}}\r\n`);
    expect(await c.line()).toBe('+ OK');
    c.send(`${m}\r\n`);
    expect(await c.line()).toMatch(/^a OK \[APPENDUID \d+ 1\] Append completed\.$/);
    await c.command('s', 'SELECT INBOX');
    expect(await c.command('f', 'FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE)')).toEqual([
      expect.stringMatching(/^\* 1 FETCH \(FLAGS \(\\Seen \$Work\) INTERNALDATE "07-Dec-2026 \d\d:00:00 [+-]\d{4}" RFC822\.SIZE 24\)$/),
      'f OK Fetch completed.',
    ]);
    c.close();
  });

  it('refuses a message over the size limit before + and one for a mailbox that does not exist', async () => {
    const c = await login();
    expect(await c.command('a', 'APPEND INBOX {200000}')).toEqual(['a NO [TOOBIG] Mail too big']);
    const m = 'Subject: x\r\n\r\nx\r\n';
    c.send(`b APPEND Nowhere {${m.length}+}\r\n${m}\r\n`);
    expect(await c.until('b')).toEqual(['b NO [TRYCREATE] Mailbox doesn\'t exist: Nowhere']);
    // a LITERAL+ message over the limit is read and dropped; the connection goes on
    c.send(`c APPEND INBOX {150000+}\r\n${'x'.repeat(150000)}\r\n`);
    expect(await c.until('c')).toEqual(['c NO [TOOBIG] Mail too big']);
    expect(await c.command('n', 'NOOP')).toEqual(['n OK NOOP completed.']);
    c.close();
  });

  it('leaves nothing behind when the client disconnects mid-literal', async () => {
    const before = { cur: await files('cur'), new: await files('new') };
    const c = await login();
    c.send('a APPEND INBOX {50000+}\r\nSubject: cut\r\n\r\n' + 'y'.repeat(20000));
    // wait until the server has begun writing the message, then go away
    expect((await eventually(() => files('tmp'), (f) => f.length > 0, 5000)).length).toBe(1);
    c.close();
    expect(await eventually(() => files('tmp'), (f) => f.length === 0)).toEqual([]);
    expect(await files('cur')).toEqual(before.cur);
    expect(await files('new')).toEqual(before.new);
    const again = await login();
    const st = await again.command('s', 'STATUS INBOX (MESSAGES)');
    expect(st[0]).toBe(`* STATUS INBOX (MESSAGES ${before.cur.length + before.new.length})`);
    again.close();
  });

  it('refuses (and stores nothing of) a message whose literal is followed by more than CRLF', async () => {
    const c = await login();
    const st = async () => (await c.command('s', 'STATUS INBOX (MESSAGES)'))[0];
    const before = await st();
    // announced 17 bytes, sent 21: "e\r\n" follows the literal where CRLF must be
    c.send('a APPEND INBOX {17+}\r\nSubject: one\r\n\r\none\r\n');
    expect(await c.until('a')).toEqual(['a BAD Error in IMAP command APPEND: Invalid arguments']);
    expect(await st()).toBe(before);
    c.close();
  });

  it('refuses APPEND before login without reading a literal it never asked for', async () => {
    const { client } = await RawImap.connect(d.imapPort);
    expect(await client.command('a', 'APPEND INBOX {10}')).toEqual(['a BAD Command not allowed before login.']);
    client.send('b APPEND INBOX {3+}\r\nabc\r\n');
    expect(await client.until('b')).toEqual(['b BAD Command not allowed before login.']);
    expect(await client.command('n', 'NOOP')).toEqual(['n OK NOOP completed.']);
    client.close();
  });
});
