/**
 * The header section of a message (RFC 5322 2.2, 3.6), split into fields as it streams in, the
 * way the readers of the stored mail split it (Dovecot's message-header-parser, mail clients):
 *  - the section ends at the first empty line; a message without one is all header (nothing
 *    else ends it: a line that is not a field stays in the section, as Dovecot keeps it, so a
 *    field placed after it cannot hide in a "body" that readers do not see as one);
 *  - a line starting with SP or HTAB continues the field before it (folding);
 *  - the name is what precedes the first colon of the field's first line, with the white space
 *    that obs-optional (RFC 5322 4.5) allows before the colon removed: `From : x` is a From;
 *  - CRLF and bare LF both end a line.
 * No size limit on the section: only one field is held at a time, and a field larger than
 * `fieldLimit` is handed on in pieces (its first `fieldLimit` bytes, then the rest as it comes),
 * so memory stays bounded whatever the client sends. Text is latin1 (one char per byte): the
 * raw bytes of a field come back exactly as they came in.
 */

export interface HeaderField {
  /** The name as written, white space before the colon removed (empty when the line has no colon). */
  readonly name: string;
  /** The name in lower case, for comparisons ('' when there is no valid name). */
  readonly key: string;
  /** The whole field as received, its line breaks included (latin1). */
  readonly raw: string;
  /** The value after the colon, unfolded (RFC 5322 2.2.3: CRLF before WSP removed), without the final line break. */
  readonly value: string;
  /** True when this is only the first part of a field larger than the limit (the rest follows as `more`). */
  readonly truncated: boolean;
}

/** What the splitter finds, in order. */
export type HeaderPiece =
  | { kind: 'field'; field: HeaderField }
  /** More raw bytes of the truncated field before it. */
  | { kind: 'more'; raw: string }
  /** The empty line ending the section; '' when the message ended without one. */
  | { kind: 'end'; raw: string }
  /** Bytes after the header section, untouched. */
  | { kind: 'body'; raw: string };

/** Splits one field's raw text into name and value. */
export function parseField(raw: string, truncated = false): HeaderField {
  const firstLineEnd = raw.indexOf('\n');
  const firstLine = firstLineEnd < 0 ? raw : raw.slice(0, firstLineEnd);
  const colon = firstLine.indexOf(':');
  // A continuation with no field before it, or a line without a colon: no name any check knows.
  if (colon < 0 || raw[0] === ' ' || raw[0] === '\t') {
    return { name: '', key: '', raw, value: unfold(raw), truncated };
  }
  const name = firstLine.slice(0, colon).replace(/[ \t]+$/, '');
  // RFC 5322 3.6.8: printable US-ASCII except colon; anything else is no field name.
  const key = /^[\x21-\x39\x3b-\x7e]+$/.test(name) ? name.toLowerCase() : '';
  return { name, key, raw, value: unfold(raw.slice(colon + 1)), truncated };
}

function unfold(text: string): string {
  return text.replace(/\r*\n$/, '').replace(/\r*\n(?=[ \t])/g, '');
}

/**
 * Incremental splitter: `push` each chunk, `end` at the end of the message. Pieces come out as
 * soon as they are complete (a field when the next line shows it is over).
 */
export class HeaderSplitter {
  private inBody = false;
  private atLineStart = true;
  /** The current field's text so far (up to the limit). */
  private current = '';
  /** The current field went past the limit: its first part is out, the rest streams as `more`. */
  private oversized = false;
  /** A CR at the very end of a chunk, at the start of a line: an empty line if LF follows. */
  private carry = '';

  constructor(private readonly fieldLimit = 100 * 1024) {}

  get body(): boolean {
    return this.inBody;
  }

  push(chunk: string): HeaderPiece[] {
    const out: HeaderPiece[] = [];
    const text = this.carry + chunk;
    this.carry = '';
    if (this.inBody) {
      if (text) out.push({ kind: 'body', raw: text });
      return out;
    }
    let i = 0;
    while (i < text.length) {
      if (this.atLineStart) {
        const c = text[i];
        if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
          const n = c === '\n' ? 1 : 2;
          this.finishField(out);
          out.push({ kind: 'end', raw: text.slice(i, i + n) });
          this.inBody = true;
          if (i + n < text.length) out.push({ kind: 'body', raw: text.slice(i + n) });
          return out;
        }
        if (c === '\r' && i + 1 === text.length) {
          this.carry = '\r';
          return out;
        }
        // A new field starts unless the line is a continuation (folding, RFC 5322 2.2.3).
        if (c !== ' ' && c !== '\t') this.finishField(out);
        this.atLineStart = false;
      }
      const lf = text.indexOf('\n', i);
      const stop = lf < 0 ? text.length : lf + 1;
      this.append(text.slice(i, stop), out);
      i = stop;
      if (lf >= 0) this.atLineStart = true;
    }
    return out;
  }

  /** The end of the message: the last field, and an `end` with no empty line if none came. */
  end(): HeaderPiece[] {
    const out: HeaderPiece[] = [];
    if (this.inBody) {
      if (this.carry) out.push({ kind: 'body', raw: this.carry });
      this.carry = '';
      return out;
    }
    if (this.carry) this.append(this.carry, out);
    this.carry = '';
    this.finishField(out);
    out.push({ kind: 'end', raw: '' });
    this.inBody = true;
    return out;
  }

  private append(text: string, out: HeaderPiece[]): void {
    if (this.oversized) {
      out.push({ kind: 'more', raw: text });
      return;
    }
    this.current += text;
    if (this.current.length > this.fieldLimit) {
      out.push({ kind: 'field', field: parseField(this.current, true) });
      this.current = '';
      this.oversized = true;
    }
  }

  private finishField(out: HeaderPiece[]): void {
    if (!this.oversized && this.current) out.push({ kind: 'field', field: parseField(this.current) });
    this.current = '';
    this.oversized = false;
  }
}

/**
 * The words of a structured field value (RFC 5322 3.2) up to the first `stop` character that is
 * outside quoted strings and comments, comments and quoted strings included, with quoted-pairs
 * unescaped: what a lenient reader might take for a name. Used to find an identifier that may be
 * hidden behind comments (`(x;y) mx.example; ...`).
 */
export function leadingWords(value: string, stop: string): string[] {
  let text = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && (quoted || depth > 0)) {
      text += value[++i] ?? '';
      continue;
    }
    if (quoted) {
      if (c === '"') quoted = false;
      text += c === '"' ? ' ' : c;
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (c === '"' && depth === 0) quoted = true;
    else if (c === stop && depth === 0) break;
    text += c === '(' || c === ')' || c === '"' ? ' ' : c;
  }
  return text.split(/[ \t\r\n]+/).filter(Boolean);
}
