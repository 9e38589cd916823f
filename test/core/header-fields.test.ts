import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type HeaderField, type HeaderPiece, HeaderSplitter, leadingWords, parseField } from '../../src/core/header-fields.js';
import { type HeaderRules, headerFilter } from '../../src/core/header-filter.js';

/** Splits `text` fed in the given chunks; fields as [key, value], the end line and the body. */
function split(chunks: string[], limit?: number) {
  const s = new HeaderSplitter(limit);
  const pieces: HeaderPiece[] = [];
  for (const c of chunks) pieces.push(...s.push(c));
  pieces.push(...s.end());
  const fields: HeaderField[] = [];
  let end: string | undefined;
  let body = '';
  let raw = '';
  for (const p of pieces) {
    if (p.kind === 'field') fields.push(p.field);
    if (p.kind === 'field' || p.kind === 'more') raw += p.kind === 'field' ? p.field.raw : p.raw;
    if (p.kind === 'end') end = p.raw;
    if (p.kind === 'body') body += p.raw;
  }
  return { fields, end, body, raw, pieces };
}

/** Every way of cutting `text` in two, and one byte at a time. */
function cuts(text: string): string[][] {
  const out = [[text], [...text]];
  for (let i = 1; i < text.length; i++) out.push([text.slice(0, i), text.slice(i)]);
  return out;
}

async function filtered(text: string, rules: HeaderRules, chunk = 7): Promise<string> {
  const parts: Buffer[] = [];
  for (let i = 0; i < text.length; i += chunk) parts.push(Buffer.from(text.slice(i, i + chunk), 'latin1'));
  const out: Buffer[] = [];
  for await (const b of Readable.from(parts).pipe(headerFilter(rules))) out.push(b as Buffer);
  return Buffer.concat(out).toString('latin1');
}

describe('header section splitting (RFC 5322 2.2, obsolete syntax included)', () => {
  const message = 'From : CEO\r\n <ceo@evil.example>\r\nSubject: a\r\n\tb\nX-Empty:\r\nno colon here\r\nTo: x@y\r\n\r\nbody\r\nFrom: not a header\r\n';

  it('finds the same fields, end and body wherever the chunks are cut', () => {
    for (const chunks of cuts(message)) {
      const r = split(chunks);
      expect(r.fields.map((f) => [f.key, f.value]), JSON.stringify(chunks)).toEqual([
        ['from', ' CEO <ceo@evil.example>'],
        ['subject', ' a\tb'],
        ['x-empty', ''],
        ['', 'no colon here'],
        ['to', ' x@y'],
      ]);
      expect(r.fields[0]!.name).toBe('From');
      expect(r.end).toBe('\r\n');
      expect(r.body).toBe('body\r\nFrom: not a header\r\n');
      expect(r.raw + r.end + r.body).toBe(message);
    }
  });

  it('ends the section at an empty line of a bare LF, and a message without one is all header', () => {
    expect(split(['A: 1\nB: 2\n\nbody\n'])).toMatchObject({ end: '\n', body: 'body\n' });
    const all = split(['A: 1\r\nB: 2\r\n']);
    expect(all.fields.map((f) => f.key)).toEqual(['a', 'b']);
    expect(all).toMatchObject({ end: '', body: '' });
    expect(split(['A: 1'])).toMatchObject({ end: '', body: '' });
    expect(split(['A: 1']).fields[0]!.raw).toBe('A: 1');
    // a CR at the end of a chunk, at a line start: the empty line is found once LF comes
    expect(split(['A: 1\r\n\r', '\nbody'])).toMatchObject({ end: '\r\n', body: 'body' });
    expect(split(['A: 1\r\n\r', 'B: 2\r\n\r\n'])).toMatchObject({ end: '\r\n', body: '' });
    expect(split(['A: 1\r\n\r', 'B: 2\r\n\r\n']).fields.map((f) => f.raw)).toEqual(['A: 1\r\n', '\rB: 2\r\n']);
  });

  it('hands on a field larger than the limit in pieces, deciding on its first part', () => {
    const big = `X-Big: ${'a'.repeat(50)}\r\n${' b'.repeat(100)}\r\nFrom: x@y\r\n\r\n`;
    for (const chunks of [[big], [...big]]) {
      const r = split(chunks, 64);
      expect(r.fields.map((f) => [f.key, f.truncated])).toEqual([['x-big', true], ['from', false]]);
      // what came in before the limit was passed is decided on; the rest streams on as it comes
      if (chunks.length > 1) expect(r.pieces.filter((p) => p.kind === 'more').length).toBeGreaterThan(100);
      expect(r.raw + r.end).toBe(big);
    }
  });

  it('names: white space before the colon is obs-optional, anything else is no name', () => {
    expect(parseField('From \t: a\r\n')).toMatchObject({ name: 'From', key: 'from', value: ' a' });
    expect(parseField('Fr om: a\r\n').key).toBe('');
    expect(parseField(' continued: a\r\n').key).toBe('');
    expect(parseField('AUTHENTICATION-RESULTS: x\r\n').key).toBe('authentication-results');
  });

  it('leadingWords sees through comments, quoted strings and quoted-pairs up to the first separator', () => {
    expect(leadingWords(' mx.example; spf=pass', ';')).toEqual(['mx.example']);
    expect(leadingWords(' (x;y) mx.example 1; spf=pass', ';')).toEqual(['x;y', 'mx.example', '1']);
    expect(leadingWords(' "mx\\.example"; x', ';')).toEqual(['mx.example']);
    expect(leadingWords(' (unclosed mx.example; dmarc=pass', ';')).toEqual(['unclosed', 'mx.example;', 'dmarc=pass']);
  });
});

describe('header filter', () => {
  const message = 'Bcc: secret@x\r\nSubject: s\r\nBCC :\r\n folded@x\r\n\r\nBcc: in the body\r\n';
  const dropBcc: HeaderRules = { keep: (f) => f.key !== 'bcc' };

  it('removes fields by the rule, wherever written, and leaves the body byte for byte', async () => {
    for (const chunk of [1, 3, 7, 1000]) {
      expect(await filtered(message, dropBcc, chunk)).toBe('Subject: s\r\n\r\nBcc: in the body\r\n');
    }
  });

  it('adds lines at the end of the section, also when the message has no empty line', async () => {
    const add: HeaderRules = { keep: () => true, append: () => 'From: <a@b>\r\n' };
    expect(await filtered('Subject: s\r\n\r\nbody\r\n', add)).toBe('Subject: s\r\nFrom: <a@b>\r\n\r\nbody\r\n');
    expect(await filtered('Subject: s\r\n', add)).toBe('Subject: s\r\nFrom: <a@b>\r\n');
    expect(await filtered('Subject: s', add)).toBe('Subject: s\r\nFrom: <a@b>\r\n');
    expect(await filtered('', add)).toBe('From: <a@b>\r\n');
  });

  it('drops the whole of a field larger than the limit, and keeps a kept one whole', async () => {
    const big = `X-Big: ${'a'.repeat(200 * 1024)}\r\n${' b\r\n'.repeat(30_000)}Subject: s\r\n\r\nbody\r\n`;
    expect(await filtered(big, { keep: (f) => f.key !== 'x-big' }, 64 * 1024)).toBe('Subject: s\r\n\r\nbody\r\n');
    expect(await filtered(big, { keep: () => true }, 64 * 1024)).toBe(big);
  });
});
