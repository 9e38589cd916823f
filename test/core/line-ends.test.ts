/**
 * The CRLF side of the line-end rule (src/core/line-ends.ts), as SMTP/LMTP DATA goes through it
 * (src/protocols/smtp/data-stream.ts): every line ends in CRLF afterwards, by the same rule the
 * Maildir writer applies (test/mailstore/lf-writer.test.ts has the LF side and its reference),
 * whatever the chunking; a message that is CRLF throughout passes unchanged.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LineEnds, isCrlf } from '../../src/core/line-ends.js';
import { messageData } from '../../src/protocols/smtp/data-stream.js';
import { prng } from '../helpers/prng.js';

/** One character at a time: CR…CR LF is one line end, every other CR and every LF is one. */
function reference(input: string): string {
  return input.replace(/\r+\n|\r|\n/g, '\r\n');
}

function toCrlf(chunks: readonly string[]): string {
  const ends = new LineEnds('\r\n');
  return chunks.map((c) => ends.push(c)).join('') + ends.end();
}

function cutsOf(input: string, rnd: () => number): string[] {
  const out: string[] = [];
  let from = 0;
  for (let at = 1; at < input.length; at++) if (rnd() < 0.3) out.push(input.slice(from, (from = at)));
  out.push(input.slice(from));
  return out;
}

/** The DATA path: the chunks through messageData() as smtp-server would hand them over. */
async function throughData(chunks: readonly string[]): Promise<{ text: string; same: boolean[] }> {
  const source = new PassThrough();
  const { out } = messageData(source as never, 1 << 30);
  const got: Buffer[] = [];
  out.on('data', (b: Buffer) => got.push(b));
  const buffers = chunks.map((c) => Buffer.from(c, 'latin1'));
  for (const b of buffers) source.write(b);
  source.end();
  await new Promise((resolve) => out.on('end', resolve));
  return { text: Buffer.concat(got).toString('latin1'), same: buffers.map((b) => got.includes(b)) };
}

describe('line ends made CRLF (SMTP and LMTP DATA)', () => {
  it.each([
    ['a\r\nb\r\n', 'a\r\nb\r\n'],
    ['a\nb', 'a\r\nb'],
    ['a\rb', 'a\r\nb'],
    ['a\r\r\nb', 'a\r\nb'],
    ['a\r\rb', 'a\r\n\r\nb'],
    ['a\n\rb', 'a\r\n\r\nb'],
    ['Subject: x\rFrom: boss\r\n\r\n', 'Subject: x\r\nFrom: boss\r\n\r\n'],
    ['last\r', 'last\r\n'],
    ['\n', '\r\n'],
  ])('%j → %j', (input, want) => {
    expect(reference(input)).toBe(want);
    expect(toCrlf([input])).toBe(want);
    expect(toCrlf([...input])).toBe(want);
  });

  it('agrees with the reference on random inputs and chunkings (seeded)', () => {
    const pieces = ['\r', '\n', '\r\n', '\r\r\n', 'a', '.', '\xff'];
    for (let seed = 1; seed <= 2000; seed++) {
      const rnd = prng(seed);
      let input = '';
      for (let k = Math.floor(rnd() * 40); k > 0; k--) input += pieces[Math.floor(rnd() * pieces.length)];
      const chunks = cutsOf(input, rnd);
      const got = toCrlf(chunks);
      expect(got, `seed ${seed}: ${JSON.stringify(chunks)}`).toBe(reference(input));
      expect(isCrlf(got)).toBe(true);
    }
  });

  it('passes the chunks of a CRLF message through DATA as they came, and converts the others', async () => {
    const clean = ['Subject: a\r\n\r\n', 'line 1\r\nline 2\r\n', 'line 3\r\n'];
    const plain = await throughData(clean);
    expect(plain.text).toBe(clean.join(''));
    expect(plain.same).toEqual([true, true, true]); // no copies for the usual message
    for (let seed = 1; seed <= 300; seed++) {
      const rnd = prng(seed * 31);
      const pieces = ['\r', '\n', '\r\n', 'text', '.'];
      let input = '';
      for (let k = Math.floor(rnd() * 50); k > 0; k--) input += pieces[Math.floor(rnd() * pieces.length)];
      const chunks = cutsOf(input, rnd);
      expect((await throughData(chunks)).text, `seed ${seed}: ${JSON.stringify(chunks)}`).toBe(reference(input));
    }
  });
});
