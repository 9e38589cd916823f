/**
 * Mailbox names as clients send them → UTF-8 strings: modified UTF-7 (RFC 3501 5.1.3, strict:
 * one spelling per name, core/mutf7.ts) or, once UTF8=ACCEPT is enabled, UTF-8 (RFC 9051 5.1,
 * RFC 6855 3). `INBOX` in any case is `INBOX` (RFC 9051 5.1).
 */
import { decodeMutf7 } from '../../core/mutf7.js';
import { ParseError } from './reader.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decode(bytes: Buffer, utf8Accept: boolean): string {
  if (utf8Accept) {
    let s: string;
    try {
      s = UTF8.decode(bytes);
    } catch {
      throw new ParseError('Mailbox name is not valid UTF-8');
    }
    if (s.includes('\0')) throw new ParseError('Mailbox name contains NUL');
    return s;
  }
  const s = bytes.toString('latin1');
  try {
    return decodeMutf7(s);
  } catch {
    throw new ParseError('Mailbox name is not valid mUTF-7');
  }
}

export function mailboxName(bytes: Buffer, utf8Accept: boolean): string {
  const s = decode(bytes, utf8Accept);
  return s.toUpperCase() === 'INBOX' ? 'INBOX' : s;
}

/** LIST/LSUB reference and patterns: the same encodings; `%` and `*` are printable ASCII. */
export function listPattern(bytes: Buffer, utf8Accept: boolean): string {
  return mailboxName(bytes, utf8Accept);
}
