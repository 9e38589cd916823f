import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImapDaemon, type ImapDaemon } from '../../helpers/imap-daemon.js';
import { RawImap } from '../../helpers/imap-raw.js';
import { tempDir } from '../../helpers/tmp.js';

const MB = 1024 * 1024;

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

describe('IMAP client that reads slowly', () => {
  let d: ImapDaemon;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    d = await startImapDaemon(t.dir, { mail: { max_message_size: '60M' } });
  }, 30_000);
  afterAll(async () => {
    await d?.stop();
    await cleanup?.();
  });

  it('does not make the server buffer its responses: 300 pipelined 1 MB FETCHes, answered in order once it reads', async () => {
    const { client } = await RawImap.connect(d.imapPort);
    await client.command('l', 'LOGIN alice@example.test alice-pw');
    const line = `${'x'.repeat(1022)}\r\n`;
    const body = `Subject: big\r\n\r\n${line.repeat(MB / 1024)}`;
    client.send(`a APPEND INBOX {${body.length}+}\r\n${body}\r\n`);
    expect((await client.until('a')).at(-1)).toMatch(/^a OK/);
    await client.command('s', 'SELECT INBOX');
    const n = 300;
    const baseline = await rssOf(d.running.proc.pid!);
    client.socket.pause();
    let cmds = '';
    for (let i = 0; i < n; i++) cmds += `f${i} FETCH 1 (BODY.PEEK[TEXT])\r\n`;
    client.send(cmds);
    // Give the server every chance to produce what it would buffer (not a speed assertion).
    await new Promise((r) => setTimeout(r, 2000));
    const during = await rssOf(d.running.proc.pid!);
    // Unbounded, the server would hold ~300 MB of responses; bounded, a few MB beyond its baseline.
    expect(during - baseline).toBeLessThan(60 * MB);
    // Another client is served meanwhile.
    const { client: other } = await RawImap.connect(d.imapPort);
    expect(await other.command('n', 'NOOP')).toEqual(['n OK NOOP completed.']);
    other.close();
    client.socket.resume();
    for (let i = 0; i < n; i++) {
      expect(await client.line()).toBe(`* 1 FETCH (BODY[TEXT] {${MB}}`);
      // the literal's lines, then the closing parenthesis and the tagged reply
      for (let k = 0; k < MB / 1024; k++) await client.line();
      expect(await client.line()).toBe(')');
      expect(await client.line()).toBe(`f${i} OK Fetch completed.`);
    }
    client.close();
  }, 120_000);

  it('streams one big literal to a reader that does not read: the server holds about its buffer limit, not the message', async () => {
    const { client } = await RawImap.connect(d.imapPort);
    await client.command('l', 'LOGIN alice@example.test alice-pw');
    await client.command('c', 'CREATE Big');
    const line = `${'y'.repeat(1022)}\r\n`;
    const size = 48 * MB;
    const body = `Subject: huge\r\n\r\n${line.repeat(size / 1024)}`;
    client.send(`a APPEND Big {${body.length}+}\r\n`);
    client.send(body);
    client.send('\r\n');
    expect((await client.until('a')).at(-1)).toMatch(/^a OK/);
    await client.command('s', 'SELECT Big');
    // The structure is parsed (and cached) first: that pass reads the whole file once, and its
    // garbage would blur what is measured here, the streaming of the literal.
    await client.command('b', 'FETCH 1 (BODYSTRUCTURE)');
    await new Promise((r) => setTimeout(r, 500));
    const baseline = await rssOf(d.running.proc.pid!);
    client.socket.pause();
    client.send('f FETCH 1 (BODY.PEEK[TEXT])\r\n');
    await new Promise((r) => setTimeout(r, 2000));
    const during = await rssOf(d.running.proc.pid!);
    // Whole, the 48 MB literal would sit in the socket's buffer; streamed, a few MB at most.
    expect(during - baseline).toBeLessThan(24 * MB);
    client.socket.resume();
    expect(await client.line()).toBe(`* 1 FETCH (BODY[TEXT] {${size}}`);
    for (let k = 0; k < size / 1024; k++) await client.line();
    expect(await client.line()).toBe(')');
    expect(await client.line()).toBe('f OK Fetch completed.');
    client.close();
  }, 120_000);
});
