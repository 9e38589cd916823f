/**
 * Header values as SEARCH compares them (RFC 2047): encoded words decoded, each on its own as
 * Dovecot's message_header_decode does (a character split over two encoded words is lost
 * there, so it is here), whitespace between two adjacent encoded words dropped, and an encoded
 * word in a charset that cannot be converted replaced by U+FFFD (Dovecot yields nothing
 * searchable for it).
 */
import { TextDecoder } from 'node:util';

const ENCODED_WORD = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=/g;

function decodeWord(charset: string, enc: string, text: string): string {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset.toLowerCase());
  } catch {
    return '\ufffd';
  }
  let bytes: Buffer;
  if (enc === 'b' || enc === 'B') bytes = Buffer.from(text, 'base64');
  else {
    const s = text.replace(/_/g, ' ');
    const out: number[] = [];
    for (let i = 0; i < s.length; i++) {
      const h = s.slice(i + 1, i + 3);
      if (s[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(h)) {
        out.push(parseInt(h, 16));
        i += 2;
      } else out.push(s.charCodeAt(i) & 0xff);
    }
    bytes = Buffer.from(out);
  }
  return decoder.decode(bytes);
}

export function decodeHeaderValue(value: string): string {
  if (!value.includes('=?')) return value;
  let out = '';
  let last = 0;
  let prevEnd = -1;
  for (const m of value.matchAll(ENCODED_WORD)) {
    const gap = value.slice(last, m.index);
    // RFC 2047 6.2: whitespace between adjacent encoded words is not displayed
    if (!(prevEnd === last && /^[ \t]*$/.test(gap))) out += gap;
    out += decodeWord(m[1]!, m[2]!, m[3]!);
    last = m.index + m[0].length;
    prevEnd = last;
  }
  return out + value.slice(last);
}

/** SUBJECT: every run of spaces and tabs counts as one space (Dovecot SEARCH_HEADER_COMPRESS_LWSP). */
export function compressLwsp(value: string): string {
  return value.replace(/^[ \t]+/, '').replace(/[ \t]+/g, ' ');
}
