/**
 * Streaming decoding of one MIME part's body for BODY/TEXT: Content-Transfer-Encoding (base64,
 * quoted-printable, anything else as is) and then the charset to a JS string. Chunks may end
 * anywhere (in a base64 quantum, a `=XX` escape or a multibyte character); state carries over.
 * An unknown charset is read as UTF-8 and invalid bytes become U+FFFD, as Dovecot's
 * message_decoder does.
 */

import { TextDecoder } from 'node:util';

const B64 = /[^A-Za-z0-9+/]/g;

function textDecoder(charset: string | undefined): TextDecoder {
  if (charset) {
    try {
      return new TextDecoder(charset.trim().toLowerCase());
    } catch {
      // unknown charset: UTF-8 (Dovecot falls back to charset_utf8_to_utf8)
    }
  }
  return new TextDecoder('utf-8');
}

export class BodyDecoder {
  private readonly chars: TextDecoder;
  private readonly cte: 'base64' | 'qp' | 'none';
  private pending = '';

  constructor(encoding: string | undefined, charset: string | undefined) {
    const e = (encoding ?? '').trim().toLowerCase();
    this.cte = e === 'base64' ? 'base64' : e === 'quoted-printable' ? 'qp' : 'none';
    this.chars = textDecoder(charset);
  }

  /** Decodes the next chunk of raw body bytes. */
  write(chunk: Buffer): string {
    return this.chars.decode(this.bytes(chunk, false), { stream: true });
  }

  end(): string {
    return this.chars.decode(this.bytes(Buffer.alloc(0), true));
  }

  private bytes(chunk: Buffer, final: boolean): Buffer {
    if (this.cte === 'none') return chunk;
    if (this.cte === 'base64') {
      const s = this.pending + chunk.toString('latin1').replace(B64, '');
      const whole = final ? s.length : s.length - (s.length % 4);
      this.pending = s.slice(whole);
      return Buffer.from(s.slice(0, whole), 'base64');
    }
    return this.qp(this.pending + chunk.toString('latin1'), final);
  }

  /** RFC 2045 6.7; a broken escape is kept as written. */
  private qp(s: string, final: boolean): Buffer {
    let end = s.length;
    if (!final) {
      // keep an incomplete escape or a line whose trailing whitespace may still be cut
      const nl = s.lastIndexOf('\n');
      const tailStart = nl + 1;
      const eq = s.indexOf('=', Math.max(tailStart, s.length - 2));
      end = eq >= 0 ? eq : s.length;
      if (/[ \t]+$/.test(s.slice(tailStart, end))) end = tailStart + s.slice(tailStart, end).replace(/[ \t]+$/, '').length;
    }
    this.pending = s.slice(end);
    const src = s.slice(0, end);
    const out = Buffer.allocUnsafe(src.length);
    let n = 0;
    for (let i = 0; i < src.length; i++) {
      const c = src.charCodeAt(i);
      if (c === 0x3d) {
        const h = src.slice(i + 1, i + 3);
        if (/^[0-9A-Fa-f]{2}$/.test(h)) {
          out[n++] = parseInt(h, 16);
          i += 2;
          continue;
        }
        // soft line break: `=` then optional whitespace then the line end
        const m = /^[ \t]*\r?\n/.exec(src.slice(i + 1, i + 80));
        if (m) {
          i += m[0].length;
          continue;
        }
        if (i + 1 >= src.length && final) continue;
      } else if (c === 0x20 || c === 0x09) {
        // trailing whitespace before a line end is padding (RFC 2045 6.7 rule 3)
        let j = i;
        while (j < src.length && (src.charCodeAt(j) === 0x20 || src.charCodeAt(j) === 0x09)) j++;
        if (j < src.length && (src[j] === '\n' || (src[j] === '\r' && src[j + 1] === '\n'))) {
          i = j - 1;
          continue;
        }
      }
      out[n++] = c;
    }
    return out.subarray(0, n);
  }
}
