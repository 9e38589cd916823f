/**
 * Random and mutated input for the parser and the framer, from seeded PRNGs (a failure names
 * its seed): the parser never throws and always returns a ParseResult; the framer never throws,
 * never holds more than its limits, and frames a stream the same however it is chunked.
 */
import { describe, expect, it } from 'vitest';
import { Framer, type FramerEvent, type FramerLimits } from '../../../src/protocols/imap/framer.js';
import { isIdleDone, parseAppendHead, parseCommand } from '../../../src/protocols/imap/parser.js';
import { isValidTag } from '../../../src/protocols/imap/reader.js';
import { prng } from '../../helpers/prng.js';

const VALID = [
  'a CAPABILITY',
  'a LOGIN {3}\r\nbob "pa\\"ss"',
  'a AUTHENTICATE PLAIN AGJvYgBwdw==',
  'a ENABLE CONDSTORE',
  'a ID ("name" "x" "version" NIL)',
  'a SELECT "Entw&APw-rfe" (CONDSTORE)',
  'a LIST (SUBSCRIBED) "" ("*" %) RETURN (CHILDREN SPECIAL-USE)',
  'a LSUB "" *',
  'a STATUS INBOX (MESSAGES UIDNEXT HIGHESTMODSEQ SIZE)',
  'a RENAME a b',
  'a UID FETCH 1:*,5 (UID FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.100> BINARY.SIZE[1]) (CHANGEDSINCE 5)',
  'a FETCH 1 FULL',
  'a UID STORE 1:3 (UNCHANGEDSINCE 9) +FLAGS.SILENT (\\Seen $Junk)',
  'a SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR (FROM {3+}\r\nbob SINCE 1-Jan-2020) NOT (1:3,5 UID 7:*) MODSEQ "/flags/\\\\Seen" all 5',
  'a UID MOVE 1:* Trash',
  'a UID EXPUNGE 4,5',
];

const ALPHABET = Buffer.from(' ()[]<>{}+~"\\*%:,.-=0123456789aAbBzZ\r\n\0\x7f\xc3\xa4\xff');

function randomBytes(rand: () => number, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = rand() < 0.7 ? ALPHABET[Math.floor(rand() * ALPHABET.length)]! : Math.floor(rand() * 256);
  return out;
}

function mutate(rand: () => number, input: Buffer): Buffer {
  let buf = Buffer.from(input);
  const rounds = 1 + Math.floor(rand() * 4);
  for (let k = 0; k < rounds; k++) {
    const at = Math.floor(rand() * (buf.length + 1));
    const op = Math.floor(rand() * 5);
    if (op === 0) buf = Buffer.concat([buf.subarray(0, at), randomBytes(rand, 1 + Math.floor(rand() * 4)), buf.subarray(at)]);
    else if (op === 1) buf = Buffer.concat([buf.subarray(0, at), buf.subarray(Math.min(buf.length, at + 1 + Math.floor(rand() * 6)))]);
    else if (op === 2 && buf.length > 0) buf[Math.min(at, buf.length - 1)] = ALPHABET[Math.floor(rand() * ALPHABET.length)]!;
    else if (op === 3) buf = buf.subarray(0, at); // truncated
    else {
      const other = Buffer.from(VALID[Math.floor(rand() * VALID.length)]!, 'latin1');
      const from = Math.floor(rand() * other.length);
      buf = Buffer.concat([buf.subarray(0, at), other.subarray(from, from + Math.floor(rand() * 20)), buf.subarray(at)]);
    }
  }
  return buf;
}

function checkParse(input: Buffer, utf8Accept: boolean): void {
  const r = parseCommand(input, { utf8Accept });
  expect(typeof r.ok).toBe('boolean');
  if (r.ok) expect(isValidTag(r.tag)).toBe(true);
  else {
    expect(r.message).toMatch(/^Error in IMAP command/);
    if (r.tag !== undefined) expect(isValidTag(r.tag)).toBe(true);
  }
  const h = parseAppendHead(input, { utf8Accept });
  expect(typeof h.ok).toBe('boolean');
  expect(typeof isIdleDone(input)).toBe('boolean');
}

describe('parser fuzz', () => {
  it('every valid sample parses', () => {
    for (const line of VALID) expect(parseCommand(Buffer.from(`${line}\r\n`, 'latin1'), { utf8Accept: false }), line).toMatchObject({ ok: true });
  });

  for (const seed of [1, 2, 3, 4]) {
    it(`mutated commands never throw (seed ${seed})`, () => {
      const rand = prng(seed);
      let okCount = 0;
      for (let i = 0; i < 5000; i++) {
        const base = Buffer.from(`${VALID[i % VALID.length]!}\r\n`, 'latin1');
        const input = mutate(rand, base);
        checkParse(input, rand() < 0.3);
        if (parseCommand(input, { utf8Accept: false }).ok) okCount++;
      }
      // Some mutations keep the command valid; most do not. Both paths are exercised.
      expect(okCount).toBeGreaterThan(50);
      expect(okCount).toBeLessThan(4950);
    });
  }

  it('random bytes never throw', () => {
    const rand = prng(99);
    for (let i = 0; i < 5000; i++) checkParse(randomBytes(rand, Math.floor(rand() * 80)), rand() < 0.5);
    for (let i = 0; i < 2000; i++) checkParse(Buffer.concat([Buffer.from('a '), randomBytes(rand, Math.floor(rand() * 60))]), false);
  });
});

/** Runs a stream through a framer in the given chunks; sync literals are accepted or refused by a seeded rule. */
function run(stream: Buffer, chunks: number[], limits: Partial<FramerLimits>, decide: (n: number) => boolean): { events: unknown[]; maxBuffered: number } {
  const f = new Framer(limits);
  const events: unknown[] = [];
  let decisions = 0;
  let maxBuffered = 0;
  const take = (evs: FramerEvent[]): void => {
    for (const e of evs) {
      if (e.type === 'literal-data') {
        const last = events[events.length - 1] as { data?: string } | undefined;
        if (last?.data !== undefined) last.data += e.data.toString('latin1');
        else events.push({ data: e.data.toString('latin1') });
      } else if (e.type === 'command') events.push({ command: e.frame.toString('latin1') });
      else if (e.type === 'append') events.push({ ...e, head: e.head.toString('latin1') });
      else events.push(e);
      maxBuffered = Math.max(maxBuffered, f.buffered);
    }
    while (f.awaiting) {
      const accept = decide(decisions++);
      events.push({ decision: accept });
      take(accept ? f.accept() : f.refuse());
    }
  };
  let pos = 0;
  for (const n of chunks) {
    take(f.push(stream.subarray(pos, pos + n)));
    maxBuffered = Math.max(maxBuffered, f.buffered);
    pos += n;
  }
  take(f.push(stream.subarray(pos)));
  return { events, maxBuffered };
}

function randomStream(rand: () => number): Buffer {
  const parts: Buffer[] = [];
  const n = 1 + Math.floor(rand() * 12);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.3) parts.push(Buffer.from(`${VALID[Math.floor(rand() * VALID.length)]!}\r\n`, 'latin1'));
    else if (r < 0.45) {
      const size = Math.floor(rand() * 40);
      const plus = rand() < 0.5 ? '+' : '';
      parts.push(Buffer.from(`t${i} APPEND INBOX (\\Seen) {${size}${plus}}\r\n`), randomBytes(rand, size), Buffer.from(rand() < 0.8 ? '\r\n' : ' x\r\n'));
    } else if (r < 0.6) {
      const size = Math.floor(rand() * 120);
      parts.push(Buffer.from(`t${i} LOGIN {${size}${rand() < 0.5 ? '+' : ''}}\r\n`), randomBytes(rand, size), Buffer.from(' x\r\n'));
    } else if (r < 0.7) parts.push(Buffer.from(`t${i} SELECT ${'x'.repeat(Math.floor(rand() * 300))}\r\n`));
    else parts.push(mutate(rand, Buffer.from(`${VALID[Math.floor(rand() * VALID.length)]!}\r\n`, 'latin1')));
  }
  return Buffer.concat(parts);
}

describe('framer fuzz', () => {
  for (const seed of [11, 12, 13, 14, 15]) {
    it(`frames the same in any chunking and stays within its limits (seed ${seed})`, () => {
      const rand = prng(seed);
      for (let round = 0; round < 150; round++) {
        const limits: FramerLimits = {
          maxLineLength: 40 + Math.floor(rand() * 200),
          maxLiteralSize: Math.floor(rand() * 100),
          maxCommandSize: 100 + Math.floor(rand() * 400),
          maxAppendSize: Math.floor(rand() * 40),
          maxDiscardSize: Math.floor(rand() * 100),
          maxPending: 10_000,
        };
        const stream = randomStream(rand);
        const flips = Array.from({ length: 64 }, () => rand() < 0.8);
        const decide = (n: number): boolean => flips[n % flips.length]!;
        const whole = run(stream, [], limits, decide);
        const chunks: number[] = [];
        for (let left = stream.length; left > 0; ) {
          const n = 1 + Math.floor(rand() * Math.min(left, rand() < 0.5 ? 3 : 50));
          chunks.push(n);
          left -= n;
        }
        const pieces = run(stream, chunks, limits, decide);
        expect(pieces.events, `seed ${seed} round ${round} ${JSON.stringify(limits)} ${JSON.stringify(chunks)}`).toEqual(whole.events);
        const bound = limits.maxLineLength + limits.maxCommandSize + limits.maxPending;
        expect(pieces.maxBuffered).toBeLessThanOrEqual(bound);
        expect(whole.maxBuffered).toBeLessThanOrEqual(bound);
        // Every frame the framer emits parses to a ParseResult.
        for (const e of whole.events as Array<{ command?: string }>) if (e.command !== undefined) checkParse(Buffer.from(e.command, 'latin1'), false);
      }
    });
  }

  it('random bytes: never throws, never holds more than the limits', () => {
    const rand = prng(77);
    const limits = { maxLineLength: 100, maxLiteralSize: 50, maxCommandSize: 300, maxAppendSize: 1000, maxDiscardSize: 200, maxPending: 500 };
    for (let round = 0; round < 200; round++) {
      const f = new Framer(limits);
      for (let i = 0; i < 30; i++) {
        f.push(randomBytes(rand, Math.floor(rand() * 100)));
        expect(f.buffered).toBeLessThanOrEqual(100 + 300 + 500);
        if (f.awaiting) (rand() < 0.5 ? f.accept() : f.refuse());
      }
    }
  });
});
