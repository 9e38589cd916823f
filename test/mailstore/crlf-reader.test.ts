/**
 * The CRLF reader (src/mailstore/maildir/crlf-reader.ts) on a file real Dovecot wrote with stray
 * CRs in it: it serves what Dovecot serves — a lone CR stays, every LF without a CR before it
 * becomes CRLF — so its length is Dovecot's W= and size.virtual (RFC822.SIZE), and partial
 * ranges are slices of that.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCrlf } from '../../src/mailstore/maildir/crlf-reader.js';
import { cleanup, doveadmAvailable, doveadmOk, makeDovecotHome, parseFetch } from './helpers/dovecot.js';

const available = doveadmAvailable();

async function served(file: string, range?: { start: number; end?: number }): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await openCrlf(file, range)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('latin1');
}

describe.skipIf(!available.ok)('CRLF reader on a file Dovecot wrote', () => {
  it('serves lone CRs as Dovecot does, in exactly W= (size.virtual) bytes', async () => {
    const h = await makeDovecotHome();
    try {
      await doveadmOk(h, ['save'], Buffer.from('Subject: stray\r\n\r\na\rb\r\nx\r\r\ny\nz\r\n', 'latin1'));
      const [msg] = parseFetch(await doveadmOk(h, ['fetch', 'size.virtual', 'mailbox', 'INBOX', 'all']));
      const names = [...(await readdir(path.join(h.mail, 'cur'))).map((n) => path.join('cur', n)), ...(await readdir(path.join(h.mail, 'new'))).map((n) => path.join('new', n))];
      expect(names).toHaveLength(1);
      const file = path.join(h.mail, names[0]!);
      const stored = await readFile(file, 'latin1');
      // Dovecot keeps the lone CR, and one CR of CR CR LF (stored as CRLF).
      expect(stored).toBe('Subject: stray\n\na\rb\nx\r\ny\nz\n');
      const vsize = Number(/,W=(\d+)/.exec(names[0]!)?.[1]);
      expect(Number(msg!['size.virtual'])).toBe(vsize);

      const whole = await served(file);
      expect(whole).toBe('Subject: stray\r\n\r\na\rb\r\nx\r\ny\r\nz\r\n');
      expect(whole.length).toBe(vsize);
      for (const [start, end] of [[0, 5], [17, 20], [18, 21], [20, vsize], [vsize - 1, undefined]] as const) {
        expect(await served(file, end === undefined ? { start } : { start, end }), `${start}..${end}`).toBe(whole.slice(start, end));
      }
    } finally {
      await cleanup(h);
    }
  });
});

describe('CRLF reader on files bigger than one read', () => {
  it('serves every range of a file with bare LFs, CRLFs and lone CRs across read boundaries, and a missing file as NotFound', async () => {
    const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
    const dir = await mkdtemp('/tmp/crlf-reader-');
    try {
      // Lines of varying length so LFs (and a CR before an LF) fall on the 64 KB read boundaries.
      let stored = '';
      for (let i = 0; stored.length < 300_000; i++) stored += `${'x'.repeat(i % 97)}${i % 5 === 0 ? '\r' : ''}${i % 7 === 0 ? '\r\n' : '\n'}`;
      const file = path.join(dir, 'm');
      await writeFile(file, stored, 'latin1');
      const expected = stored.replace(/\r?\n/g, '\r\n');
      const whole = await served(file);
      expect(whole.length).toBe(expected.length);
      expect(whole === expected).toBe(true);
      for (const [start, end] of [[0, 1], [65_530, 65_545], [100_000, 200_000], [expected.length - 3, undefined], [250_000, expected.length + 10]] as const) {
        const got = await served(file, end === undefined ? { start } : { start, end });
        expect(got === expected.slice(start, end), `${start}..${end}`).toBe(true);
      }
      await expect(openCrlf(path.join(dir, 'gone'))).rejects.toThrow(/gone/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
