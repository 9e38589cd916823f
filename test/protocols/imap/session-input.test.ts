import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImapDaemon, type ImapDaemon } from '../../helpers/imap-daemon.js';
import { RawImap } from '../../helpers/imap-raw.js';
import { tempDir } from '../../helpers/tmp.js';

/**
 * The server reads commands through framer.ts: literals after a refused line are not taken for
 * commands, a mailbox sent as a literal in APPEND is not the message, and a LITERAL+ literal over
 * the limit is read and dropped (or the connection closed when too big to read).
 */
describe('IMAP input: literals and limits through the framer, on the real daemon', () => {
  let d: ImapDaemon;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    // Lines up to 64 KiB (the default), so a literal over 64 KiB is over the limit.
    d = await startImapDaemon(t.dir);
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
  const folders = async (c: RawImap) => (await c.command('ls', 'LIST "" "*"')).filter((l) => l.startsWith('* LIST'));

  it('does not run the LITERAL+ literal of a too-long line as commands', async () => {
    const c = await login();
    const injected = 'x CREATE Injected\r\n';
    c.send(`a NOOP ${'y'.repeat(100_000)} {${injected.length}+}\r\n${injected}\r\n`);
    expect(await c.line()).toMatch(/^a BAD .*Too long argument/);
    expect(await c.command('n', 'NOOP')).toEqual(['n OK NOOP completed.']);
    expect((await folders(c)).some((l) => l.includes('Injected'))).toBe(false);
    expect(c.all).not.toMatch(/^x /m);
    c.close();
  });

  it('answers a too-long line ending in a synchronizing literal with BAD and no continuation', async () => {
    const c = await login();
    c.send(`a NOOP ${'y'.repeat(100_000)} {19}\r\n`);
    expect(await c.line()).toMatch(/^a BAD .*Too long argument/);
    expect(await c.command('n', 'NOOP')).toEqual(['n OK NOOP completed.']);
    expect(c.all).not.toMatch(/^\+ /m);
    expect((await folders(c)).some((l) => l.includes('Injected'))).toBe(false);
    c.close();
  });

  it('stores APPEND\'s message in the mailbox sent as a literal (synchronizing and LITERAL+)', async () => {
    const c = await login();
    expect((await c.command('c', 'CREATE Lit')).at(-1)).toBe('c OK Create completed.');
    const m = 'Subject: lit\r\n\r\nlit\r\n';
    c.send('a APPEND {3}\r\n');
    expect(await c.line()).toBe('+ OK');
    c.send(`Lit {${m.length}}\r\n`);
    expect(await c.line()).toBe('+ OK');
    c.send(`${m}\r\n`);
    expect(await c.line()).toMatch(/^a OK \[APPENDUID \d+ 1\] Append completed\.$/);
    c.send(`b APPEND {3+}\r\nLit {${m.length}+}\r\n${m}\r\n`);
    expect(await c.until('b')).toEqual([expect.stringMatching(/^b OK \[APPENDUID \d+ 2\] Append completed\.$/)]);
    expect(await c.command('s', 'STATUS Lit (MESSAGES)')).toEqual(['* STATUS Lit (MESSAGES 2)', 's OK Status completed.']);
    c.close();
  });

  it('reads and drops a LITERAL+ literal over the limit (BAD), and closes beyond what it reads', async () => {
    const c = await login();
    c.send(`a LOGIN {100000+}\r\n${'z'.repeat(100_000)} pw\r\n`);
    expect(await c.line()).toMatch(/^a BAD .*Literal size too large/);
    expect(await c.command('n', 'NOOP')).toEqual(['n OK NOOP completed.']);
    // RFC 7888 4: too big to read and drop: the connection is closed
    c.send('b LOGIN {50000000+}\r\n');
    expect(await c.line()).toBe('b BAD Literal size too large');
    expect(await c.line()).toBe('* BYE Literal size too large');
    expect(await c.waitClosed(5000)).toBe(true);
  });

  it('streams a LITERAL+ APPEND, and closes on one over the limit too big to read and drop', async () => {
    const c = await login();
    const big = 'x'.repeat(200_000);
    c.send(`a APPEND INBOX {${big.length}+}\r\n${big}\r\n`);
    // under the default 50 MB message limit: stored
    expect(await c.until('a')).toEqual([expect.stringMatching(/^a OK \[APPENDUID /)]);
    c.send('b APPEND INBOX {4000000000+}\r\n');
    expect(await c.line()).toBe('b BAD Literal size too large');
    expect(await c.line()).toBe('* BYE Literal size too large');
    expect(await c.waitClosed(5000)).toBe(true);
  });

  it('answers pipelined commands with literals and an APPEND sent a few bytes at a time, in order', async () => {
    const c = await login();
    const m = 'Subject: bits\r\n\r\nbits\r\n';
    const stream = Buffer.from(
      `p1 CREATE {4+}\r\nBits\r\np2 APPEND {4+}\r\nBits (\\Seen) {${m.length}+}\r\n${m}\r\n` +
      'p3 STATUS Bits (MESSAGES UNSEEN)\r\np4 SELECT Bits\r\np5 FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\np6 DELETE Nothing\r\n',
      'latin1',
    );
    for (let i = 0; i < stream.length; i += 7) {
      c.send(stream.subarray(i, i + 7));
      await new Promise((r) => setImmediate(r));
    }
    const all = await c.until('p6');
    expect(all.filter((l) => /^p\d /.test(l))).toEqual([
      'p1 OK Create completed.',
      expect.stringMatching(/^p2 OK \[APPENDUID \d+ 1\] Append completed\.$/),
      'p3 OK Status completed.',
      'p4 OK [READ-WRITE] Select completed.',
      'p5 OK Fetch completed.',
      'p6 NO [NONEXISTENT] Mailbox doesn\'t exist: Nothing',
    ]);
    expect(all).toContain('* STATUS Bits (MESSAGES 1 UNSEEN 0)');
    expect(all).toContain('* 1 FETCH (FLAGS (\\Seen) BODY[HEADER.FIELDS (SUBJECT)] {17}');
    c.close();
  });

  it('takes AUTHENTICATE responses and IDLE\'s DONE as lines', async () => {
    const { client: c } = await RawImap.connect(d.imapPort);
    // an empty line is an (empty) SASL response, not a line to skip
    c.send('e AUTHENTICATE PLAIN\r\n');
    expect(await c.line()).toBe('+ ');
    c.send('\r\n');
    expect((await c.until('e')).at(-1)).toMatch(/^e (NO|BAD) /);
    c.send('a AUTHENTICATE PLAIN\r\n');
    expect(await c.line()).toBe('+ ');
    c.send(`${Buffer.from('\0alice@example.test\0alice-pw').toString('base64')}\r\n`);
    expect((await c.until('a')).at(-1)).toMatch(/^a OK /);
    await c.command('s', 'SELECT INBOX');
    c.send('i IDLE\r\n');
    expect(await c.line()).toBe('+ idling');
    c.send('done\r\nn NOOP\r\n');
    expect((await c.until('i')).at(-1)).toBe('i OK Idle completed.');
    expect((await c.until('n')).at(-1)).toBe('n OK NOOP completed.');
    c.close();
  });
});
