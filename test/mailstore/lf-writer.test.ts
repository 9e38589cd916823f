/**
 * The LF conversion on the way to disk (src/mailstore/maildir/lf-writer.ts): every CRLF, bare LF
 * and lone CR becomes one LF, CRs right before a line end belong to it, and the sizes S= and W= come out right — whatever the chunking. Checked against a plain character-by-character
 * reference, itself pinned by hand-written cases, and by reading the result back through the
 * CRLF reader that IMAP uses (its output must be exactly W= bytes).
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LfToCrlf } from '../../src/mailstore/maildir/crlf-reader.js';
import { LfConverter } from '../../src/mailstore/maildir/lf-writer.js';
import { prng } from '../helpers/prng.js';

/**
 * The rule, one character at a time: a run of CRs followed by an LF is one line end; otherwise
 * each CR is a line end.
 */
function reference(input: string): string {
  let out = '';
  for (let i = 0; i < input.length; ) {
    if (input[i] !== '\r') {
      out += input[i++];
    } else {
      let j = i;
      while (input[j] === '\r') j++;
      if (input[j] === '\n') {
        out += '\n';
        i = j + 1;
      } else {
        out += '\n'.repeat(j - i);
        i = j;
      }
    }
  }
  return out;
}

interface Converted {
  out: string;
  size: number;
  vsize: number;
}

function convert(chunks: readonly string[]): Converted {
  const c = new LfConverter();
  let out = '';
  for (const ch of chunks) out += c.push(Buffer.from(ch, 'latin1')).toString('latin1');
  out += c.end().toString('latin1');
  return { out, size: c.size, vsize: c.vsize };
}

/** What the reference says the converter must produce: S= is the stored size, W= the size with CRLF line ends. */
function expected(input: string): Converted {
  const out = reference(input);
  return { out, size: out.length, vsize: out.replaceAll('\n', '\r\n').length };
}

function split(input: string, cuts: readonly number[]): string[] {
  const at = [0, ...cuts, input.length];
  return at.slice(1).map((end, k) => input.slice(at[k], end));
}

const show = (s: string) => JSON.stringify(s);

describe('LF conversion (Dovecot mail_save_crlf = no, stray CRs and LFs made line ends)', () => {
  it('matches the sizes Dovecot gives the same message', () => {
    // doveadm save of this message produced ...,S=18,W=21
    expect(convert(['Subject: hi\r\n\r\nbody\r\n'])).toEqual({ out: 'Subject: hi\n\nbody\n', size: 18, vsize: 21 });
  });

  // Hand-written: these pin the rule that the reference implements.
  const HEAD_IN = 'H: v\r\n\r\n';
  const HEAD_OUT = 'H: v\n\n';
  const body = (input: string, out: string): [string, string] => [HEAD_IN + input, HEAD_OUT + out];
  const cases: [string, string][] = [
    ['', ''],
    ['no line end', 'no line end'],
    body('a\r\nb\r\n', 'a\nb\n'),
    body('a\nb\n', 'a\nb\n'),
    body('a\rb\r\n', 'a\nb\n'),
    body('a\r\rb', 'a\n\nb'),
    body('a\r\r\nb', 'a\nb'),
    body('a\r\r\r\nb', 'a\nb'),
    body('a\r\r\n\r\nb', 'a\n\nb'),
    body('a\n\rb', 'a\n\nb'),
    body('a\r\n\rb', 'a\n\nb'),
    body('a\n\r\nb', 'a\n\nb'),
    body('last\r', 'last\n'),
    body('last\r\r', 'last\n\n'),
    body('\r', '\n'),
    body('\n\r', '\n\n'),
    body('x\r..y\r\n.\rz\xff\r\x00', 'x\n..y\n.\nz\xff\n\x00'),
    // The header section follows the same rule: a lone CR ends the field (the SMTP layer has
    // made it a CRLF before any check looked at the header, src/protocols/smtp/data-stream.ts).
    ['Subject: x\rFrom: boss\r\n\r\nbody\rmore\r\n', 'Subject: x\nFrom: boss\n\nbody\nmore\n'],
    ['A: 1\n\rFrom: boss\r\n\r\nx', 'A: 1\n\nFrom: boss\n\nx'],
    ['A: 1\r\r\n\r\r\nb\rc', 'A: 1\n\nb\nc'],
    ['A: 1\n\n\rb', 'A: 1\n\n\nb'],
    ['\r\nbody\rx', '\nbody\nx'],
    ['\rX: 1\r\n\r\n', '\nX: 1\n\n'],
    ['Subject: x\r', 'Subject: x\n'],
    ['Subject: x\rFrom: y\r\rbody\r', 'Subject: x\nFrom: y\n\nbody\n'],
    ['\r', '\n'],
    ['\r\n', '\n'],
  ];

  it.each(cases)('%j → %j', (input, out) => {
    expect(reference(input)).toBe(out);
    expect(convert([input])).toEqual(expected(input));
  });

  it('gives the same result at every split into two and three chunks', () => {
    const inputs = [
      'a\r\nb\rc\nd\r\r\ne\r',
      '\r\r\r\n\r\n\n\r\r',
      'x\r\r\ry\r\n\r\r\nz\n\r',
      'Subject: s\rX: y\r\n\r\nline\rline\r\r\nend\r',
      'A: 1\r\n\rB\r\r\n\r\r\n\r\rc\r',
    ];
    for (const input of inputs) {
      const want = expected(input);
      for (let i = 0; i <= input.length; i++) {
        expect(convert(split(input, [i])), `${show(input)} cut at ${i}`).toEqual(want);
        for (let j = i; j <= input.length; j++) {
          expect(convert(split(input, [i, j])), `${show(input)} cut at ${i}, ${j}`).toEqual(want);
        }
      }
      expect(convert([...input]), `${show(input)} one byte at a time`).toEqual(want);
    }
  });

  it('agrees with the reference on random inputs and chunkings (seeded)', () => {
    const pieces = ['\r', '\r', '\n', '\r\n', '\r\r\n', 'a', 'bc', '.', ' ', '\xff', '\x00'];
    for (let seed = 1; seed <= 2000; seed++) {
      const rnd = prng(seed);
      let input = '';
      const length = Math.floor(rnd() * 40);
      for (let k = 0; k < length; k++) input += pieces[Math.floor(rnd() * pieces.length)];
      const cuts: number[] = [];
      for (let at = 0; at <= input.length; at++) if (rnd() < 0.3) cuts.push(at);
      const got = convert(split(input, cuts));
      expect(got, `seed ${seed}: ${show(input)} cut at ${cuts.join(',')}`).toEqual(expected(input));
      expect(got.out).not.toContain('\r');
    }
  });

  it('ends each CR of a long run spread over many chunks as a line', () => {
    const input = 'A: 1\n\na' + '\r'.repeat(100_000) + 'b' + '\r'.repeat(100_000) + '\nc';
    const chunks = split(input, Array.from({ length: Math.floor(input.length / 1000) }, (_, k) => (k + 1) * 1000));
    const got = convert(chunks);
    const want = expected(input);
    // Compared piecewise: a failing toEqual on 200 KB strings takes minutes to diff.
    expect({ size: got.size, vsize: got.vsize }).toEqual({ size: want.size, vsize: want.vsize });
    expect(got.out === want.out).toBe(true);
  });

  it('is served back by the CRLF reader as exactly W= bytes, every line end as CRLF', async () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rnd = prng(seed * 7919);
      const pieces = ['\r', '\n', '\r\n', '\r\r\n', 'text', '.', '\xe9'];
      let input = '';
      const length = Math.floor(rnd() * 60);
      for (let k = 0; k < length; k++) input += pieces[Math.floor(rnd() * pieces.length)];
      const stored = convert(split(input, [Math.floor(rnd() * input.length)]));
      const served: Buffer[] = [];
      for await (const chunk of Readable.from([Buffer.from(stored.out, 'latin1')]).pipe(new LfToCrlf())) served.push(chunk as Buffer);
      const text = Buffer.concat(served).toString('latin1');
      expect(text.length, `seed ${seed}: ${show(input)}`).toBe(stored.vsize);
      expect(text).toBe(reference(input).replaceAll('\n', '\r\n'));
    }
  });
});
