/**
 * SEARCH CHARSET (RFC 9051 6.4.4): the strings of a key converted to UTF-8 before evaluation.
 * Dovecot takes any charset iconv knows and answers `NO [BADCHARSET]` for others; bytes that are
 * not valid in the named charset (8-bit in US-ASCII, broken UTF-8) make it answer
 * `BAD Error in IMAP command SEARCH: Invalid search key`.
 */
import { TextDecoder } from 'node:util';
import { InvalidInput } from '../../../core/errors.js';
import type { SearchKey } from '../types.js';

/** Whether SEARCH CHARSET `name` can be converted (else the session answers NO [BADCHARSET]). */
export function searchCharsetSupported(name: string): boolean {
  return decoderFor(name) !== null;
}

function decoderFor(name: string): TextDecoder | null {
  const label = name.trim().toLowerCase();
  if (label === 'us-ascii' || label === 'ascii') return new TextDecoder('utf-8', { fatal: true });
  try {
    return new TextDecoder(label, { fatal: true });
  } catch {
    return null;
  }
}

/**
 * The key with its strings in UTF-8. Throws InvalidInput for an unknown charset (check with
 * searchCharsetSupported first) or bytes that are not valid in it.
 */
export function searchKeyToUtf8(key: SearchKey, charset: string): SearchKey {
  const dec = decoderFor(charset);
  if (!dec) throw new InvalidInput('Unknown charset');
  const ascii = /^\s*(us-)?ascii\s*$/i.test(charset);
  const conv = (b: Buffer): Buffer => {
    if (ascii && b.some((c) => c >= 0x80)) throw new InvalidInput('Invalid search key');
    try {
      return Buffer.from(dec.decode(b), 'utf8');
    } catch {
      throw new InvalidInput('Invalid search key');
    }
  };
  const walk = (k: SearchKey): SearchKey => {
    switch (k.kind) {
      case 'header':
        return { ...k, value: conv(k.value) };
      case 'body':
      case 'text':
        return { ...k, value: conv(k.value) };
      case 'not':
        return { kind: 'not', key: walk(k.key) };
      case 'or':
        return { kind: 'or', a: walk(k.a), b: walk(k.b) };
      case 'and':
        return { kind: 'and', keys: k.keys.map(walk) };
      default:
        return k;
    }
  };
  return walk(key);
}
