import { describe, expect, it } from 'vitest';
import { MimeTreeBuilder, parseMime, type MimePart } from '../../../src/protocols/imap/fetch/mime-tree.js';
import { decodeTree, encodeTree } from '../../../src/protocols/imap/fetch/tree-cache.js';
import { mimeCorpus } from '../../fixtures/mime/corpus.js';
import { randomMessage } from '../../fixtures/mime/fuzz.js';
import { prng } from '../../helpers/prng.js';

/** As Folder.read() serves a file: every LF with a CR before it. */
const served = (b: Buffer) => Buffer.from(b.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');

function shape(p: MimePart): unknown {
  return [p.start, p.headerSize, p.bodySize, p.bodyLines, p.kind, p.text, p.hasEmptyLine, p.header.toString('latin1'), p.children.map(shape)];
}

function parseInChunks(bytes: Buffer, sizes: () => number): MimePart {
  const b = new MimeTreeBuilder();
  for (let i = 0; i < bytes.length; ) {
    const n = Math.max(1, sizes());
    b.push(bytes.subarray(i, i + n));
    i += n;
  }
  return b.end();
}

describe('MIME tree', () => {
  const rand = prng(7);
  const messages = [...mimeCorpus().map((m) => served(m.bytes)), ...Array.from({ length: 150 }, () => served(randomMessage(rand)))];

  it('gives the same tree however the stream is chunked', async () => {
    for (const m of messages) {
      const whole = await parseMime([m]);
      expect(shape(parseInChunks(m, () => 1))).toEqual(shape(whole));
      expect(shape(parseInChunks(m, () => Math.floor(rand() * 40)))).toEqual(shape(whole));
    }
  });

  it('covers the whole message: the root ends where the bytes end, children inside parents', async () => {
    const inside = (p: MimePart) => {
      const end = p.start + p.headerSize + p.bodySize;
      for (const c of p.children) {
        expect(c.start).toBeGreaterThanOrEqual(p.start + p.headerSize);
        expect(c.start + c.headerSize + c.bodySize).toBeLessThanOrEqual(end);
        inside(c);
      }
    };
    for (const m of messages) {
      const root = await parseMime([m]);
      expect(root.start + root.headerSize + root.bodySize).toBe(m.length);
      inside(root);
    }
  });

  it('keeps only a line prefix of long body lines (no whole-message buffering)', () => {
    const b = new MimeTreeBuilder();
    b.push(Buffer.from('Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\n'));
    const chunk = Buffer.alloc(1 << 20, 0x61);
    for (let i = 0; i < 20; i++) b.push(chunk); // one 20 MiB line
    b.push(Buffer.from('\r\n--x--\r\n'));
    const root = b.end();
    expect(root.children).toHaveLength(1);
    expect(root.children[0]!.bodySize).toBe(20 << 20);
  });

  it('stops treating parts as containers past the nesting limit (as application/octet-stream)', async () => {
    let msg = '';
    for (let i = 0; i < 150; i++) msg += `Content-Type: message/rfc822\r\n\r\n`;
    let depth = 0;
    let last: MimePart | undefined;
    for (let p: MimePart | undefined = await parseMime([Buffer.from(msg)]); p; p = p.children[0]) {
      depth++;
      last = p;
    }
    expect(depth).toBe(100);
    expect(last!.kind).toBe('leaf');
    expect(last!.fields.type!.type.toString()).toBe('application');
  });

  it('round-trips part offsets through the cache format and rejects junk', async () => {
    const root = await parseMime([messages[2]!]);
    const decoded = decodeTree(encodeTree(root))!;
    const strip = (p: { start: number; headerSize: number; bodySize: number; kind: string; hasEmptyLine: boolean; children: unknown[] }): unknown => [p.start, p.headerSize, p.bodySize, p.kind, p.hasEmptyLine, (p.children as (typeof p)[]).map(strip)];
    expect(strip(decoded)).toEqual(strip(root));
    for (const junk of ['', 'null', '[1,2]', '[1,2,3,9,0,[]]', '[-1,0,0,0,0,[]]', '{"a":1}']) expect(decodeTree(junk)).toBeUndefined();
  });
});
