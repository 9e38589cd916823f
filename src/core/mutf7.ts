/**
 * Modified UTF-7, the IMAP4rev1 mailbox-name encoding (RFC 3501 5.1.3, kept by RFC 9051 5.1.3 for
 * IMAP4rev1 clients). Dovecot also stores Maildir++ folder names in it on disk (`.Entw&APw-rfe`),
 * so this codec decides which directories tsmail recognises as folders.
 *
 * Format: printable US-ASCII 0x20-0x7e stands for itself, except `&`, written `&-`. Everything
 * else is UTF-16BE in base64 (alphabet `A-Z a-z 0-9 + ,`: `,` replaces `/`, no `=` padding)
 * between `&` and `-`.
 *
 * The decoder is STRICT: it accepts exactly the strings the encoder produces, so every name has
 * one spelling and `encodeMutf7(decodeMutf7(s)) === s` for every accepted `s`. It rejects:
 * - raw characters outside 0x20-0x7e (RFC 3501 5.1.3: they "are represented in modified BASE64");
 * - `&` without a closing `-`, characters outside the modified base64 alphabet (`/`, `=`);
 * - runs that decode to an odd number of bytes, or with non-zero bits left after the last
 *   16-bit unit (Dovecot 2.3 src/lib-imap/imap-utf7.c accepts those: `&AOR-` gives "ä");
 * - runs encoding printable US-ASCII, `&` included ("MUST NOT be used to represent any printing
 *   US-ASCII character which can represent itself");
 * - a run directly after a run (`&AOQ-&APY-`): RFC 3501 5.1.3 forbids null shifts ("-&" in
 *   BASE64); `&AOQ-&-` ("ä&") is fine;
 * - unpaired UTF-16 surrogates, and an encoded NUL (Dovecot refuses it too, imap-utf7.c
 *   utf16buf_to_utf8: "Encoded NUL isn't going to work").
 */
import { InvalidInput } from './errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';
/** char code → 6-bit value, -1 when not in the modified base64 alphabet. */
const DECODE: readonly number[] = Array.from({ length: 128 }, (_, c) => ALPHABET.indexOf(String.fromCharCode(c)));

const AMP = 0x26;
const DASH = 0x2d;

function isPrintableAscii(c: number): boolean {
  return c >= 0x20 && c <= 0x7e;
}

function fail(reason: string, input: string): never {
  throw new InvalidInput(`invalid modified UTF-7: ${reason}`, { input });
}

/** UTF-16 code units → modified base64 (RFC 3501 5.1.3: RFC 2152 base64 with `,` for `/`). */
function encodeRun(units: string): string {
  const bytes = Buffer.from(units, 'utf16le').swap16(); // UTF-16BE
  return bytes.toString('base64').replace(/=+$/, '').replaceAll('/', ',');
}

/** UTF-8 (a JS string) → modified UTF-7. Throws InvalidInput on NUL or an unpaired surrogate. */
export function encodeMutf7(text: string): string {
  let out = '';
  let run = '';
  const flush = (): void => {
    if (run !== '') out += `&${encodeRun(run)}-`;
    run = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isPrintableAscii(c)) {
      flush();
      out += c === AMP ? '&-' : text[i];
    } else if (c === 0) {
      fail('NUL cannot be part of a mailbox name', text);
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const low = text.charCodeAt(i + 1); // NaN past the end
      if (!(low >= 0xdc00 && low <= 0xdfff)) fail(`unpaired UTF-16 surrogate at offset ${i}`, text);
      run += text.slice(i, i + 2);
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      fail(`unpaired UTF-16 surrogate at offset ${i}`, text);
    } else {
      // One run for all consecutive non-ASCII characters, as Dovecot's imap_utf8_to_utf7 does;
      // splitting it would be a null shift.
      run += text[i];
    }
  }
  flush();
  return out;
}

/** The base64 text between `&` and `-` → the UTF-16 string it encodes, or InvalidInput. */
function decodeRun(s: string, start: number, end: number): string {
  const units: number[] = [];
  let acc = 0;
  let bits = 0;
  for (let i = start; i < end; i++) {
    const code = s.charCodeAt(i);
    const v = code < 128 ? (DECODE[code] ?? -1) : -1;
    if (v < 0) fail(`${JSON.stringify(s[i])} at offset ${i} is not in the modified base64 alphabet`, s);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 16) {
      bits -= 16;
      units.push((acc >>> bits) & 0xffff);
    }
  }
  // 16-bit units need 8k + 0, 3 or 6 characters; any other length leaves an odd byte or a
  // whole spare character.
  const n = end - start;
  if (n % 8 !== 0 && n % 8 !== 3 && n % 8 !== 6) {
    fail(`base64 run at offset ${start - 1} has ${n} characters, not a whole number of UTF-16 units`, s);
  }
  if ((acc & ((1 << bits) - 1)) !== 0) fail(`base64 run at offset ${start - 1} has non-zero padding bits`, s);

  let out = '';
  for (let k = 0; k < units.length; k++) {
    const u = units[k]!;
    if (u === 0) fail(`base64 run at offset ${start - 1} encodes NUL`, s);
    if (isPrintableAscii(u)) {
      fail(`base64 run at offset ${start - 1} encodes printable US-ASCII ${JSON.stringify(String.fromCharCode(u))}, which must be written directly`, s);
    }
    if (u >= 0xd800 && u <= 0xdbff) {
      const low = units[k + 1];
      if (low === undefined || low < 0xdc00 || low > 0xdfff) fail(`base64 run at offset ${start - 1} has an unpaired surrogate`, s);
      out += String.fromCharCode(u, low);
      k++;
    } else if (u >= 0xdc00 && u <= 0xdfff) {
      fail(`base64 run at offset ${start - 1} has an unpaired surrogate`, s);
    } else {
      out += String.fromCharCode(u);
    }
  }
  return out;
}

/** Modified UTF-7 → UTF-8 (a JS string). Throws InvalidInput on anything but canonical input. */
export function decodeMutf7(s: string): string {
  let out = '';
  let afterRun = false;
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (!isPrintableAscii(c)) fail(`character U+${c.toString(16).toUpperCase().padStart(4, '0')} at offset ${i} must be base64-encoded`, s);
    if (c !== AMP) {
      out += s[i];
      i++;
      afterRun = false;
      continue;
    }
    if (s.charCodeAt(i + 1) === DASH) {
      out += '&';
      i += 2;
      afterRun = false;
      continue;
    }
    const end = s.indexOf('-', i + 1);
    if (end < 0) fail(`"&" at offset ${i} starts a base64 run that never ends with "-"`, s);
    if (afterRun) fail(`base64 run at offset ${i} directly follows another; they must be one run`, s);
    out += decodeRun(s, i + 1, end);
    i = end + 1;
    afterRun = true;
  }
  return out;
}

/** True when `s` is canonical modified UTF-7 (what decodeMutf7 accepts). */
export function isValidMutf7(s: string): boolean {
  try {
    decodeMutf7(s);
    return true;
  } catch (err) {
    if (err instanceof InvalidInput) return false;
    throw err;
  }
}
