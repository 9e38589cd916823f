import { describe, expect, it } from 'vitest';
import { MimeWalker } from '../../../src/protocols/imap/search/mime-walk.js';

/** The walk as text: `[depth type]` for each part, then its body bytes. */
function walk(message: string, chunkAt: number[] = []): string {
  let out = '';
  const w = new MimeWalker({
    part: (fields, type, depth) => {
      out += `[${depth} ${type.type || (type.present ? '?' : '-')}${fields.length ? ' ' + fields.map((f) => f.name).join(',') : ''}]`;
    },
    body: (chunk) => {
      out += chunk.toString('latin1');
    },
  });
  const buf = Buffer.from(message, 'latin1');
  let pos = 0;
  for (const at of [...chunkAt, buf.length]) {
    w.push(buf.subarray(pos, at));
    pos = at;
  }
  w.end();
  return out;
}

const MESSAGE = [
  'Subject: s',
  'Content-Type: multipart/mixed; boundary="ab"',
  '',
  'preamble',
  '--ab',
  'Content-Type: text/plain',
  '',
  'one',
  '--abc looks like a boundary to Dovecot',
  'not a boundary line',
  '',
  'x',
  '--ab',
  'Content-Type: multipart/digest; boundary=d',
  '',
  '--d',
  '',
  'Subject: inner',
  '',
  'inner body',
  '--ab',
  'Content-Type: message/rfc822',
  'Content-Transfer-Encoding: base64',
  '',
  'U3ViamVjdDogeA==',
  '--ab--',
  'epilogue',
  '',
].join('\n');

describe('MimeWalker (Dovecot message-parser rules)', () => {
  it('finds parts by boundary prefix, closes inner multiparts, defaults digest parts to messages', () => {
    expect(walk(MESSAGE)).toBe(
      '[0 multipart/mixed Subject,Content-Type][1 text/plain Content-Type]one' +
        '[1 - not a boundary line]x' +
        '[1 multipart/digest Content-Type][2 message/rfc822][3 - Subject]inner body' +
        '[1 message/rfc822 Content-Type,Content-Transfer-Encoding][2 - U3ViamVjdDogeA==]',
    );
  });

  it('gives the same result wherever the input is cut', () => {
    const whole = walk(MESSAGE);
    for (let i = 0; i <= MESSAGE.length; i++) expect(walk(MESSAGE, [i]), `cut at ${i}`).toBe(whole);
    for (let i = 0; i + 7 <= MESSAGE.length; i += 3) expect(walk(MESSAGE, [i, i + 1, i + 7])).toBe(whole);
  });

  it('handles a message without headers, without a body, and empty', () => {
    expect(walk('\nbody only\n')).toBe('[0 -]body only\n');
    expect(walk('Subject: x\n')).toBe('[0 - Subject]');
    expect(walk('')).toBe('[0 -]');
  });

  it('passes a huge line through without holding it', () => {
    const long = 'x'.repeat(200_000);
    let parts = 0;
    let bytes = 0;
    let biggest = 0;
    const w = new MimeWalker({ part: () => parts++, body: (c) => ((bytes += c.length), (biggest = Math.max(biggest, c.length))) });
    w.push(Buffer.from('Subject: x\n\n'));
    for (let i = 0; i < 10; i++) w.push(Buffer.from(long));
    w.push(Buffer.from('\nend\n'));
    w.end();
    expect(parts).toBe(1);
    expect(bytes).toBe(2_000_000 + 4 + 1); // the final line break is kept: no boundary follows
    expect(biggest).toBeLessThanOrEqual(200_000 + 64 * 1024);
  });
});
