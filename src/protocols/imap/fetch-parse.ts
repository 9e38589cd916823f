/**
 * FETCH items (RFC 9051 6.4.5, RFC 3516 BINARY, RFC 7162 MODSEQ / CHANGEDSINCE): the macros,
 * the simple items and `BODY[section]<partial>` with part numbers, HEADER, HEADER.FIELDS (NOT),
 * MIME and TEXT.
 */
import { ParseError, type Reader } from './reader.js';
import type { BodySection, FetchItem } from './types.js';

const SIMPLE: Record<string, FetchItem> = {
  UID: { kind: 'UID' },
  FLAGS: { kind: 'FLAGS' },
  INTERNALDATE: { kind: 'INTERNALDATE' },
  'RFC822.SIZE': { kind: 'RFC822.SIZE' },
  ENVELOPE: { kind: 'ENVELOPE' },
  BODY: { kind: 'BODY' },
  BODYSTRUCTURE: { kind: 'BODYSTRUCTURE' },
  MODSEQ: { kind: 'MODSEQ' },
  RFC822: { kind: 'RFC822' },
  'RFC822.HEADER': { kind: 'RFC822.HEADER' },
  'RFC822.TEXT': { kind: 'RFC822.TEXT' },
};

/** RFC 9051 6.4.5 macros. */
export const MACROS: Record<'ALL' | 'FAST' | 'FULL', FetchItem[]> = {
  FAST: [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }],
  ALL: [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }, { kind: 'ENVELOPE' }],
  FULL: [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }, { kind: 'ENVELOPE' }, { kind: 'BODY' }],
};

/** An item name: letters, digits, "." (stops at "[", "<", SP, parens). */
function isNameChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2e;
}

const BAD_SECTION = 'Invalid BODY[..] section';

/** RFC 9051 `header-fld-name` = astring; a field name is printable ASCII without ":" (RFC 5322 2.2). */
function readFieldName(r: Reader): string {
  const b = r.astring('header field name');
  if (b.length === 0 || b.some((c) => c <= 0x20 || c >= 0x7f || c === 0x3a)) throw new ParseError(BAD_SECTION);
  return b.toString('latin1');
}

/** `section-part` ("1.2.3") → numbers, consuming up to what follows the last number. */
function readPart(text: string): { part: number[]; rest: string } {
  const part: number[] = [];
  const items = text.split('.');
  let i = 0;
  for (; i < items.length && /^\d+$/.test(items[i]!); i++) {
    const n = items[i]!.length > 10 ? 0 : Number(items[i]);
    if (n < 1 || n > 0xffffffff) throw new ParseError(BAD_SECTION); // nz-number
    part.push(n);
  }
  return { part, rest: items.slice(i).join('.') };
}

/** After `[`: section-spec `]`. */
function readSection(r: Reader, peek: boolean): BodySection {
  const text = r.word((c) => isNameChar(c));
  const { part, rest } = readPart(text);
  const spec = rest.toUpperCase();
  const section: BodySection = { part, peek };
  if (spec === '') {
    if (text.endsWith('.')) throw new ParseError(BAD_SECTION);
  } else if (spec === 'HEADER' || spec === 'TEXT' || spec === 'MIME') {
    if (spec === 'MIME' && part.length === 0) throw new ParseError(BAD_SECTION); // RFC 9051: MIME only with a part
    section.specifier = spec;
  } else if (spec === 'HEADER.FIELDS' || spec === 'HEADER.FIELDS.NOT') {
    section.specifier = spec;
    if (r.atEnd()) throw new ParseError("Missing ']'");
    r.sp();
    if (r.peek() !== 0x28) throw new ParseError('Invalid arguments');
    try {
      section.fields = r.list(() => readFieldName(r), false, 'header list');
    } catch (err) {
      if (err instanceof ParseError && err.message.startsWith('Empty')) throw new ParseError(BAD_SECTION);
      throw err;
    }
  } else {
    throw new ParseError(BAD_SECTION);
  }
  if (!r.take(0x5d)) throw new ParseError(r.atEnd() ? "Missing ']'" : BAD_SECTION);
  return section;
}

/** `<offset.length>`: RFC 9051 partial = "<" number64 "." nz-number64 ">". */
function readPartial(r: Reader): { offset: number; length: number } | undefined {
  if (!r.take(0x3c)) return undefined;
  const bad = 'Invalid BODY[..] parameter: Invalid partial';
  const offset = readPartialNumber(r, bad);
  if (!r.take(0x2e)) throw new ParseError(bad);
  const length = readPartialNumber(r, bad);
  if (length === 0 || !r.take(0x3e)) throw new ParseError(bad);
  return { offset, length };
}

function readPartialNumber(r: Reader, bad: string): number {
  try {
    return r.number();
  } catch {
    throw new ParseError(bad);
  }
}

/** One fetch-att. */
export function readFetchItem(r: Reader): FetchItem {
  const name = r.word(isNameChar).toUpperCase();
  if (name === '') {
    const c = r.peek();
    throw new ParseError(c < 0 ? 'Missing arguments' : c === 0x29 ? "Unexpected ')'" : 'Invalid arguments');
  }
  if (r.peek() === 0x5b) {
    r.pos++;
    if (name === 'BODY' || name === 'BODY.PEEK') {
      const section = readSection(r, name === 'BODY.PEEK');
      const partial = readPartial(r);
      if (partial) section.partial = partial;
      return { kind: 'BODY[]', section };
    }
    if (name === 'BINARY' || name === 'BINARY.PEEK' || name === 'BINARY.SIZE') {
      // RFC 3516 section-binary = "[" [section-part] "]"
      const text = r.word((c) => isNameChar(c));
      const { part, rest } = readPart(text);
      if (rest !== '' || text.endsWith('.') || !r.take(0x5d)) throw new ParseError('Invalid BINARY[..] section');
      if (name === 'BINARY.SIZE') return { kind: 'BINARY.SIZE', part };
      const section: BodySection = { part, peek: name === 'BINARY.PEEK' };
      const partial = readPartial(r);
      if (partial) section.partial = partial;
      return { kind: 'BINARY[]', section };
    }
    throw new ParseError(`Unknown parameter ${name}`);
  }
  const item = SIMPLE[name];
  if (!item) throw new ParseError(name === 'ALL' || name === 'FAST' || name === 'FULL' ? `Unknown parameter: ${name}` : `Unknown parameter ${name}`);
  return { ...item };
}

export interface FetchArgs {
  items: FetchItem[];
  macro?: 'ALL' | 'FAST' | 'FULL';
  changedSince?: bigint;
}

/** FETCH's arguments after the sequence set: macro / item / (items), then modifiers. */
export function readFetchArgs(r: Reader): FetchArgs {
  const out: FetchArgs = { items: [] };
  if (r.peek() === 0x28) {
    r.pos++;
    if (r.take(0x29)) throw new ParseError('FETCH list is empty');
    for (;;) {
      out.items.push(readFetchItem(r));
      if (r.take(0x29)) break;
      if (r.atEnd()) throw new ParseError("Missing ')'");
      r.sp();
    }
  } else {
    const save = r.pos;
    const word = r.word(isNameChar).toUpperCase();
    if ((word === 'ALL' || word === 'FAST' || word === 'FULL') && (r.atEnd() || r.peek() === 0x20)) {
      out.macro = word;
      out.items = MACROS[word].map((i) => ({ ...i }));
    } else {
      r.pos = save;
      out.items.push(readFetchItem(r));
    }
  }
  if (r.more()) {
    // RFC 4466 fetch-modifiers; RFC 7162 3.1.4 CHANGEDSINCE is the one we know.
    r.list(
      () => {
        const mod = r.atom('modifier').toUpperCase();
        if (mod !== 'CHANGEDSINCE' || out.changedSince !== undefined) throw new ParseError(`Unknown FETCH modifier ${mod}`);
        r.sp();
        out.changedSince = r.modseq('CHANGEDSINCE value');
      },
      false,
      'FETCH modifier list',
    );
    // RFC 7162 3.1.4.1: CHANGEDSINCE implies MODSEQ in every reply.
    if (!out.items.some((i) => i.kind === 'MODSEQ')) out.items.push({ kind: 'MODSEQ' });
  }
  r.finish();
  return out;
}
