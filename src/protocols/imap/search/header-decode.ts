/**
 * Header values as SEARCH compares them: MIME encoded words (RFC 2047) decoded to UTF-8, with the
 * whitespace between two adjacent encoded words dropped (libmime does this as Dovecot's
 * message_header_decode_utf8 does).
 */
import { TextDecoder } from 'node:util';
import libmime from 'libmime';

const ENCODED_WORD = /=\?([^?\s*]+)(\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=/g;

function knownCharset(label: string): boolean {
  try {
    new TextDecoder(label);
    return true;
  } catch {
    return false;
  }
}

export function decodeHeaderValue(value: string): string {
  if (!value.includes('=?')) return value;
  // An encoded word in a charset Dovecot cannot convert yields nothing searchable.
  const known = value.replace(ENCODED_WORD, (w, charset: string) => (knownCharset(charset) ? w : '\ufffd'));
  try {
    return libmime.decodeWords(known);
  } catch {
    return value;
  }
}

/** SUBJECT: every run of spaces and tabs counts as one space (Dovecot SEARCH_HEADER_COMPRESS_LWSP). */
export function compressLwsp(value: string): string {
  return value.replace(/^[ \t]+/, '').replace(/[ \t]+/g, ' ');
}
