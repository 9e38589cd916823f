/**
 * A small RFC 5322 lexer for the structured headers SEARCH looks into (addresses, Date): atoms,
 * quoted strings and single specials, with whitespace and comments skipped between them. The
 * text of the last comment is kept because Dovecot uses it as an address's display name
 * (`user@host (Name)`). 8-bit characters count as atom text.
 */

const ATEXT_SPECIALS = "!#$%&'*+-/=?^_`{|}~";

export function isAtext(ch: string): boolean {
  const c = ch.charCodeAt(0);
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c >= 0x80 || ATEXT_SPECIALS.includes(ch);
}

export class Rfc822Lexer {
  pos = 0;
  lastComment = '';

  constructor(readonly s: string) {}

  get done(): boolean {
    return this.pos >= this.s.length;
  }

  peek(): string {
    return this.s[this.pos] ?? '';
  }

  /** Skips whitespace and (nested) comments; false at the end of input. */
  skipCfws(): boolean {
    const s = this.s;
    while (this.pos < s.length) {
      const ch = s[this.pos]!;
      if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') this.pos++;
      else if (ch === '(') this.comment();
      else break;
    }
    return this.pos < s.length;
  }

  private comment(): void {
    const s = this.s;
    let depth = 0;
    let text = '';
    for (; this.pos < s.length; this.pos++) {
      const ch = s[this.pos]!;
      if (ch === '\\' && this.pos + 1 < s.length) {
        text += s[++this.pos];
      } else if (ch === '(') {
        if (depth++ > 0) text += ch;
      } else if (ch === ')') {
        if (--depth === 0) {
          this.pos++;
          break;
        }
        text += ch;
      } else text += ch;
    }
    this.lastComment = text;
  }

  /** An atom (dots allowed when `dots`), or '' when none is here. Skips CFWS after it. */
  atom(dots = false): string {
    const start = this.pos;
    while (this.pos < this.s.length && (isAtext(this.s[this.pos]!) || (dots && this.s[this.pos] === '.'))) this.pos++;
    const out = this.s.slice(start, this.pos);
    if (out !== '') this.skipCfws();
    return out;
  }

  /** A quoted string's content (unescaped), or null when there is none or it is unterminated. */
  quoted(): string | null {
    if (this.peek() !== '"') return null;
    let out = '';
    for (let i = this.pos + 1; i < this.s.length; i++) {
      const ch = this.s[i]!;
      if (ch === '\\' && i + 1 < this.s.length) out += this.s[++i];
      else if (ch === '"') {
        this.pos = i + 1;
        this.skipCfws();
        return out;
      } else if (ch !== '\r' && ch !== '\n') out += ch;
    }
    return null;
  }

  /** A phrase: words (atoms, with obsolete dots, or quoted strings) joined by one space. */
  phrase(): string {
    const words: string[] = [];
    for (;;) {
      const q = this.peek() === '"' ? this.quoted() : null;
      if (q !== null) {
        words.push(q);
        continue;
      }
      const a = this.atom(true);
      if (a === '') break;
      words.push(a);
    }
    return words.join(' ');
  }
}
