/**
 * Header values as SEARCH compares them: MIME encoded words (RFC 2047) decoded to UTF-8, with the
 * whitespace between two adjacent encoded words dropped (libmime does this as Dovecot's
 * message_header_decode_utf8 does).
 */
import libmime from 'libmime';

export function decodeHeaderValue(value: string): string {
  if (!value.includes('=?')) return value;
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}

/** SUBJECT: every run of spaces and tabs counts as one space (Dovecot SEARCH_HEADER_COMPRESS_LWSP). */
export function compressLwsp(value: string): string {
  return value.replace(/^[ \t]+/, '').replace(/[ \t]+/g, ' ');
}
