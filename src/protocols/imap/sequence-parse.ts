/** RFC 9051 9 `sequence-set` text → SequenceSet (ranges as written; 0 is not a valid number). */
import { MAX_U32, ParseError, type Reader } from './reader.js';
import type { SeqNumber, SequenceSet } from './types.js';

function isSetChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2a || c === 0x3a || c === 0x2c;
}

function seqNumber(s: string): SeqNumber | null {
  if (s === '*') return '*';
  if (!/^\d{1,10}$/.test(s)) return null;
  const n = Number(s);
  return n >= 1 && n <= MAX_U32 ? n : null;
}

/** Parses `1,3:5,7:*`; null when it is not a valid sequence set. */
export function parseSequenceSet(text: string): SequenceSet | null {
  if (text === '') return null;
  const ranges: { from: SeqNumber; to: SeqNumber }[] = [];
  for (const item of text.split(',')) {
    const ends = item.split(':');
    if (ends.length > 2) return null;
    const from = seqNumber(ends[0]!);
    const to = ends.length === 2 ? seqNumber(ends[1]!) : from;
    if (from === null || to === null) return null;
    ranges.push({ from, to });
  }
  return { ranges };
}

/** Whether the next byte could start a sequence set (a search key that is one). */
export function startsSequenceSet(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2a;
}

export function readSequenceSet(r: Reader, error = 'Invalid messageset'): SequenceSet {
  if (r.atEnd()) throw new ParseError('Missing arguments');
  const text = r.word(isSetChar);
  const c = r.peek();
  // Anything else glued to the set (`1:x`) makes the whole token invalid.
  if (c >= 0 && c !== 0x20 && c !== 0x29) throw new ParseError(error);
  const set = parseSequenceSet(text);
  if (!set) throw new ParseError(error);
  return set;
}
