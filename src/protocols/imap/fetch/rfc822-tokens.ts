/**
 * The RFC 5322 / RFC 2045 lexical pieces that ENVELOPE and BODYSTRUCTURE are built from (atoms,
 * dot-atoms, quoted strings, comments, MIME tokens, domains), with the lenient rules Dovecot 2.3
 * applies to real-world headers (src/lib-mail/rfc822-parser.c): LWSP around dots, the last
 * comment remembered (an address's display name when it has no phrase), and CR/LF inside quoted
 * strings dropped. Works on bytes: header values may hold 8-bit text.
 *
 * Each reader returns like Dovecot's: -1 broken, 0 at the end of the input, 1 more follows.
 */

/** RFC 5322 atext (plus every 8-bit byte); `mime` also excludes the RFC 2045 tspecials / ? =. */
function isAtext(c: number): boolean {
  if (c >= 0x80) return true;
  if (c <= 0x20 || c === 0x7f) return false;
  return !'()<>[]:;@\\,."'.includes(String.fromCharCode(c));
}

function isMimeTokenChar(c: number): boolean {
  return (isAtext(c) && c !== 0x2f && c !== 0x3f && c !== 0x3d) || c === 0x2e;
}

export class Rfc822Reader {
  pos = 0;
  /** The text of the last comment skipped (Dovecot uses it as a display name). */
  lastComment: Buffer | null = null;

  constructor(readonly data: Buffer) {}

  get end(): boolean {
    return this.pos >= this.data.length;
  }

  peek(): number {
    return this.pos < this.data.length ? this.data[this.pos]! : -1;
  }

  private more(): number {
    return this.pos < this.data.length ? 1 : 0;
  }

  skipComment(): number {
    const parts: Buffer[] = [];
    let level = 1;
    let start = ++this.pos;
    for (; this.pos < this.data.length; this.pos++) {
      const c = this.data[this.pos]!;
      if (c === 0x28) level++;
      else if (c === 0x29) {
        if (--level === 0) {
          parts.push(this.data.subarray(start, this.pos));
          this.lastComment = Buffer.concat(parts);
          this.pos++;
          return this.more();
        }
      } else if (c === 0x5c) {
        parts.push(this.data.subarray(start, this.pos));
        start = this.pos + 1;
        this.pos++;
        if (this.pos >= this.data.length) return -1;
      }
    }
    return -1;
  }

  /** White space, CR/LF and comments. */
  skipLwsp(): number {
    while (this.pos < this.data.length) {
      const c = this.data[this.pos]!;
      if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) {
        this.pos++;
        continue;
      }
      if (c !== 0x28) break;
      if (this.skipComment() < 0) return -1;
    }
    return this.more();
  }

  atom(out: number[]): number {
    if (this.end || !isAtext(this.peek())) return -1;
    const start = this.pos++;
    while (this.pos < this.data.length && isAtext(this.data[this.pos]!)) this.pos++;
    pushRange(out, this.data, start, this.pos);
    return this.end ? 0 : this.skipLwsp();
  }

  dotAtom(out: number[]): number {
    if (this.end || !isAtext(this.peek())) return -1;
    let start = this.pos++;
    while (this.pos < this.data.length) {
      if (isAtext(this.data[this.pos]!)) {
        this.pos++;
        continue;
      }
      pushRange(out, this.data, start, this.pos);
      let r = this.skipLwsp();
      if (r <= 0) return r;
      if (this.peek() !== 0x2e) return 1;
      this.pos++;
      out.push(0x2e);
      r = this.skipLwsp();
      if (r <= 0) return r;
      start = this.pos;
    }
    pushRange(out, this.data, start, this.pos);
    return 0;
  }

  mimeToken(out: number[]): number {
    const start = this.pos;
    while (this.pos < this.data.length && isMimeTokenChar(this.data[this.pos]!)) this.pos++;
    pushRange(out, this.data, start, this.pos);
    return this.end ? 0 : this.skipLwsp();
  }

  quotedString(out: number[]): number {
    this.pos++;
    let start = this.pos;
    for (; this.pos < this.data.length; this.pos++) {
      const c = this.data[this.pos]!;
      if (c === 0x22) {
        pushRange(out, this.data, start, this.pos);
        this.pos++;
        return this.skipLwsp();
      }
      if (c === 0x0a) {
        // Folding inside a quoted string: the (CR)LF goes.
        let len = this.pos - start;
        if (len > 0 && this.data[start + len - 1] === 0x0d) len--;
        pushRange(out, this.data, start, start + len);
        start = this.pos + 1;
      } else if (c === 0x5c) {
        this.pos++;
        if (this.pos >= this.data.length) return -1;
        pushRange(out, this.data, start, this.pos - 1);
        start = this.pos;
      }
    }
    return -1;
  }

  private atomOrDot(out: number[]): number {
    const start = this.pos;
    while (this.pos < this.data.length && (isAtext(this.data[this.pos]!) || this.data[this.pos] === 0x2e)) this.pos++;
    pushRange(out, this.data, start, this.pos);
    return this.end ? 0 : this.skipLwsp();
  }

  /** RFC 5322 phrase (obs-phrase: dots allowed), words joined by one space. */
  phrase(out: number[]): number {
    if (this.end) return 0;
    if (this.peek() === 0x2e) return -1;
    for (;;) {
      const r = this.peek() === 0x22 ? this.quotedString(out) : this.atomOrDot(out);
      if (r <= 0) return r;
      const c = this.peek();
      if (!isAtext(c) && c !== 0x22 && c !== 0x2e) break;
      out.push(0x20);
    }
    return this.skipLwsp();
  }

  private domainLiteral(out: number[]): number {
    const start = this.pos;
    for (; this.pos < this.data.length; this.pos++) {
      const c = this.data[this.pos]!;
      if (c === 0x5c) {
        this.pos++;
        if (this.pos >= this.data.length) break;
      } else if (c === 0x5d) {
        this.pos++;
        pushRange(out, this.data, start, this.pos);
        return this.skipLwsp();
      }
    }
    return -1;
  }

  /** `@` domain: dot-atom or domain literal. */
  domain(out: number[]): number {
    this.pos++;
    if (this.skipLwsp() <= 0) return -1;
    return this.peek() === 0x5b ? this.domainLiteral(out) : this.dotAtom(out);
  }
}

function pushRange(out: number[], data: Buffer, start: number, end: number): void {
  for (let i = start; i < end; i++) out.push(data[i]!);
}
