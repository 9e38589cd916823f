/**
 * A cursor over the bytes of one IMAP command frame (as framer.ts delivers it: the command's
 * line(s) with `{n}` / `{n+}` literals inline, the final CRLF optional) reading the RFC 9051 9
 * grammar's basic tokens. Every failure throws ParseError with Dovecot-style reason text; the
 * command parsers catch it and turn it into a ParseResult, so nothing else ever escapes.
 */

/** A syntax error; `message` is the reason after "Error in IMAP command NAME: ". */
export class ParseError extends Error {}

const SP = 0x20;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const CR = 0x0d;
const LF = 0x0a;

/** RFC 9051 9 atom-specials: "(" ")" "{" SP CTL "%" "*" DQUOTE "\" "]" (and 8-bit, not CHAR). */
function isAtomChar(c: number): boolean {
  if (c <= 0x20 || c >= 0x7f) return false;
  return c !== 0x28 && c !== 0x29 && c !== 0x7b && c !== 0x25 && c !== 0x2a && c !== DQUOTE && c !== BACKSLASH && c !== 0x5d;
}

/** ASTRING-CHAR = ATOM-CHAR / resp-specials ("]"). */
export function isAstringChar(c: number): boolean {
  return isAtomChar(c) || c === 0x5d;
}

/** list-char = ATOM-CHAR / list-wildcards / resp-specials. */
function isListChar(c: number): boolean {
  return isAstringChar(c) || c === 0x25 || c === 0x2a;
}

/** RFC 9051 uses 32-bit unsigned `number` and `nz-number`; number64 is for sizes and mod-sequences. */
export const MAX_U32 = 0xffffffff;
const MAX_MODSEQ = (1n << 63n) - 1n;

export class Reader {
  pos = 0;
  readonly end: number;

  constructor(readonly buf: Buffer) {
    // The frame's own line end is not part of any token.
    let end = buf.length;
    if (end > 0 && buf[end - 1] === LF) end--;
    if (end > 0 && buf[end - 1] === CR) end--;
    this.end = end;
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  peek(): number {
    return this.pos < this.end ? this.buf[this.pos]! : -1;
  }

  /** The next byte is `c` (consumed) or not (nothing consumed). */
  take(c: number): boolean {
    if (this.peek() !== c) return false;
    this.pos++;
    return true;
  }

  expect(c: number, what: string): void {
    if (!this.take(c)) throw new ParseError(this.atEnd() ? `Missing ${what}` : `Expected ${what}`);
  }

  /** One SP between arguments (further spaces are skipped, as Dovecot does). */
  sp(): void {
    if (this.atEnd()) throw new ParseError('Missing arguments');
    if (!this.take(SP)) throw new ParseError('Invalid arguments');
    while (this.take(SP));
    if (this.atEnd()) throw new ParseError('Missing arguments');
  }

  /** Only spaces are left (Dovecot ignores trailing spaces). */
  private onlySpaces(): boolean {
    for (let i = this.pos; i < this.end; i++) if (this.buf[i] !== SP) return false;
    return true;
  }

  /** A space followed by more (consumed), or the end of the command (false). */
  more(): boolean {
    if (this.onlySpaces()) return false;
    this.sp();
    return true;
  }

  /** Nothing (but spaces) may follow. */
  finish(): void {
    if (!this.onlySpaces()) throw new ParseError('Unexpected arguments');
    this.pos = this.end;
  }

  private run(pred: (c: number) => boolean): string {
    const start = this.pos;
    while (this.pos < this.end && pred(this.buf[this.pos]!)) this.pos++;
    return this.buf.toString('latin1', start, this.pos);
  }

  /** RFC 9051 `atom`. */
  atom(what = 'argument'): string {
    const s = this.run(isAtomChar);
    if (s === '') this.failToken(what);
    return s;
  }

  /** Bytes up to the next SP, "(" ")" or end: for keywords followed by `[` etc. (caller validates). */
  word(pred: (c: number) => boolean): string {
    return this.run(pred);
  }

  private failToken(what: string): never {
    const c = this.peek();
    if (c < 0) throw new ParseError(`Missing ${what}`);
    if (c === 0x29) throw new ParseError("Unexpected ')'");
    if (c >= 0x80) throw new ParseError('8bit data in atom');
    throw new ParseError(`Invalid characters in ${what}`);
  }

  /** RFC 9051 `astring` = 1*ASTRING-CHAR / string, raw bytes. */
  astring(what = 'argument'): Buffer {
    const c = this.peek();
    if (c === DQUOTE || c === 0x7b) return this.string();
    const start = this.pos;
    this.run(isAstringChar);
    if (this.pos === start) this.failToken(what);
    return this.buf.subarray(start, this.pos);
  }

  /** RFC 9051 `list-mailbox` = 1*list-char / string. */
  listMailbox(): Buffer {
    const c = this.peek();
    if (c === DQUOTE || c === 0x7b) return this.string();
    const start = this.pos;
    this.run(isListChar);
    if (this.pos === start) this.failToken('pattern');
    return this.buf.subarray(start, this.pos);
  }

  /** RFC 9051 `string` = quoted / literal. */
  string(): Buffer {
    const c = this.peek();
    if (c === DQUOTE) return this.quoted();
    if (c === 0x7b) return this.literal();
    if (c < 0) throw new ParseError('Missing string');
    throw new ParseError('Expected string');
  }

  /**
   * RFC 9051 `quoted`: TEXT-CHARs (no NUL, CR, LF), `\"` and `\\` escapes, and UTF-8 sequences
   * (RFC 9051 allows UTF8-2/3/4; they are checked for validity by whoever decodes them).
   */
  quoted(): Buffer {
    this.expect(DQUOTE, "'\"'");
    const parts: number[] = [];
    for (;;) {
      if (this.pos >= this.end) throw new ParseError("Missing '\"'");
      const c = this.buf[this.pos++]!;
      if (c === DQUOTE) break;
      if (c === 0 || c === CR || c === LF) throw new ParseError('Invalid characters in quoted string');
      if (c === BACKSLASH) {
        const e = this.pos < this.end ? this.buf[this.pos++]! : -1;
        if (e !== DQUOTE && e !== BACKSLASH) throw new ParseError('Invalid escape in quoted string');
        parts.push(e);
      } else {
        parts.push(c);
      }
    }
    return Buffer.from(parts);
  }

  /** `{n}` / `{n+}` CRLF then n bytes (framer.ts put them there). `~{n}` is literal8 (binary). */
  literal(allowBinary = false): Buffer {
    if (this.peek() === 0x7e) {
      if (!allowBinary) throw new ParseError('Binary literal not allowed here');
      this.pos++;
    }
    this.expect(0x7b, "'{'");
    const n = this.number('literal size');
    this.take(0x2b);
    this.expect(0x7d, "'}'");
    // The literal marker ends its line: CRLF (or a bare LF, which framer.ts also accepts).
    this.take(CR);
    if (this.buf[this.pos] !== LF) throw new ParseError('Missing CRLF after literal size');
    this.pos++;
    if (this.pos + n > this.buf.length) throw new ParseError('Literal is shorter than announced');
    const data = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return data;
  }

  private digits(what: string): string {
    const s = this.run((c) => c >= 0x30 && c <= 0x39);
    if (s === '') {
      if (this.atEnd()) throw new ParseError(`Missing ${what}`);
      throw new ParseError(`Invalid ${what}`);
    }
    return s;
  }

  /** RFC 9051 `number`: 0 .. 2^32-1. */
  number(what = 'number'): number {
    const s = this.digits(what);
    const n = s.length > 10 ? Infinity : Number(s);
    if (n > MAX_U32) throw new ParseError(`Invalid ${what}`);
    return n;
  }

  /** `number64` (RFC 9051): sizes, up to 2^53 here (JS numbers), which no message reaches. */
  number64(what = 'number'): number {
    const s = this.digits(what);
    const n = s.length > 16 ? Infinity : Number(s);
    if (!Number.isSafeInteger(n)) throw new ParseError(`Invalid ${what}`);
    return n;
  }

  /** RFC 7162 `mod-sequence-valzer`: 0 .. 2^63-1. */
  modseq(what = 'MODSEQ value'): bigint {
    const s = this.digits(what);
    const n = s.length > 19 ? MAX_MODSEQ + 1n : BigInt(s);
    if (n > MAX_MODSEQ) throw new ParseError(`Invalid ${what}`);
    return n;
  }

  /** A parenthesised list: `(` item *(SP item) `)`; `empty` allows `()`. */
  list<T>(item: () => T, empty: boolean, what = 'list'): T[] {
    this.expect(0x28, "'('");
    const out: T[] = [];
    if (this.take(0x29)) {
      if (!empty) throw new ParseError(`Empty ${what}`);
      return out;
    }
    for (;;) {
      out.push(item());
      if (this.take(0x29)) return out;
      if (this.atEnd()) throw new ParseError("Missing ')'");
      this.sp();
    }
  }
}

/** RFC 9051 9 `tag`: 1*<any ASTRING-CHAR except "+">. */
export function isValidTag(tag: string): boolean {
  if (tag === '') return false;
  for (let i = 0; i < tag.length; i++) {
    const c = tag.charCodeAt(i);
    if (c === 0x2b || !isAstringChar(c)) return false;
  }
  return true;
}
