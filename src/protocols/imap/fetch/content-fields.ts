/**
 * The Content-* fields of a MIME part as BODYSTRUCTURE reports them (RFC 9051 7.5.2), parsed
 * with Dovecot 2.3's leniency (message-part-data.c, rfc2231-parser.c): the first field of each
 * kind counts, a broken parameter is skipped and parsing goes on, RFC 2231 continuations
 * (`name*0*=`) are joined as they are (not decoded, plain pieces not %-escaped), and a broken
 * Content-Type keeps what could be read.
 */
import { firstField, type HeaderField } from './header.js';
import { Rfc822Reader } from './rfc822-tokens.js';

export interface Param {
  name: Buffer;
  value: Buffer;
}

export interface ContentFields {
  /** Absent without a Content-Type field; subtype '' when the field had none. */
  type?: { type: Buffer; subtype: Buffer; params: Param[] };
  encoding?: Buffer;
  id?: Buffer;
  description?: Buffer;
  md5?: Buffer;
  location?: Buffer;
  disposition?: { value: Buffer; params: Param[] };
  language?: Buffer[];
}

/** One `; name=value` (rfc822_parse_content_param): 1 ok, 0 at the end, -1 broken. */
function contentParam(r: Rfc822Reader): { ret: number; name?: Buffer; value?: Buffer } {
  if (r.end) return { ret: 0 };
  if (r.peek() !== 0x3b) return { ret: -1 };
  r.pos++;
  if (r.skipLwsp() <= 0) return { ret: -1 };
  const name: number[] = [];
  if (r.mimeToken(name) <= 0) return { ret: -1 };
  if (r.peek() !== 0x3d) return { ret: -1 };
  r.pos++;
  const value: number[] = [];
  let ret = r.skipLwsp();
  if (ret <= 0) {
    // no value
  } else if (r.peek() === 0x22) {
    ret = r.quotedString(value);
  } else if (r.peek() === 0x3d) {
    // Broken but common: name==?utf-8?b?...?= taken up to white space or `;`.
    while (!r.end && ![0x3b, 0x20, 0x09, 0x0d, 0x0a].includes(r.peek())) value.push(r.data[r.pos++]!);
  } else {
    ret = r.mimeToken(value);
  }
  if (ret < 0) return { ret: -1 };
  return { ret: 1, name: Buffer.from(name), value: Buffer.from(value) };
}

interface Rfc2231Piece {
  key: string;
  keyBytes: Buffer;
  idx: number;
  extended: boolean;
  value: Buffer;
}

/** All parameters after the value, RFC 2231 pieces merged (rfc2231_parse). */
export function parseParams(r: Rfc822Reader): Param[] {
  const result: Param[] = [];
  const pieces: Rfc2231Piece[] = [];
  for (;;) {
    const p = contentParam(r);
    if (p.ret === 0) break;
    if (p.ret < 0) {
      if (r.end) break;
      r.pos++;
      continue;
    }
    const key = p.name!;
    const star = key.indexOf(0x2a);
    if (star >= 0) {
      let i = star;
      let idx = 0;
      if (i + 1 < key.length) {
        i++;
        while (i < key.length && key[i]! >= 0x30 && key[i]! <= 0x39) idx = idx * 10 + key[i++]! - 0x30;
      }
      let extended = false;
      if (key[i] === 0x2a) {
        extended = true;
        i++;
      }
      if (i >= key.length) {
        const keyBytes = key.subarray(0, star);
        pieces.push({ key: keyBytes.toString('latin1').toLowerCase(), keyBytes, idx, extended, value: p.value! });
        continue;
      }
    }
    result.push({ name: key, value: p.value! });
  }
  if (pieces.length === 0) return result;
  const sorted = pieces
    .map((p, order) => ({ p, order }))
    .sort((a, b) => (a.p.key < b.p.key ? -1 : a.p.key > b.p.key ? 1 : a.p.idx - b.p.idx || a.order - b.order))
    .map((x) => x.p);
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    let ok = true;
    let haveExtended = false;
    let nextIdx = 0;
    for (; j < sorted.length && sorted[j]!.key === sorted[i]!.key; j++) {
      if (sorted[j]!.idx !== nextIdx) ok = false;
      if (sorted[j]!.extended) haveExtended = true;
      nextIdx++;
    }
    if (!ok) {
      for (let k = i; k < j; k++) {
        const s = sorted[k]!;
        result.push({ name: Buffer.concat([s.keyBytes, Buffer.from(`*${s.idx}${s.extended ? '*' : ''}`)]), value: s.value });
      }
    } else {
      const parts: Buffer[] = [];
      if (!sorted[i]!.extended && haveExtended) parts.push(Buffer.from("''"));
      for (let k = i; k < j; k++) {
        const s = sorted[k]!;
        // Dovecot 2.3 joins the pieces as they are (no %-escaping of plain pieces).
        parts.push(s.value);
      }
      const name = haveExtended ? Buffer.concat([sorted[i]!.keyBytes, Buffer.from('*')]) : sorted[i]!.keyBytes;
      result.push({ name, value: Buffer.concat(parts) });
    }
    i = j;
  }
  return result;
}

function parseType(value: Buffer): ContentFields['type'] {
  const r = new Rfc822Reader(value);
  const type: number[] = [];
  const subtype: number[] = [];
  // rfc822_parse_content_type: what was read before a failure is kept, parameters are not.
  let ok = r.skipLwsp() > 0 && r.mimeToken(type) > 0 && type.length > 0 && r.peek() === 0x2f;
  if (ok) {
    r.pos++;
    ok = r.skipLwsp() > 0;
    if (ok) r.mimeToken(subtype);
  }
  return { type: Buffer.from(type), subtype: Buffer.from(subtype), params: ok ? parseParams(r) : [] };
}

function parseDisposition(value: Buffer): ContentFields['disposition'] {
  const r = new Rfc822Reader(value);
  r.skipLwsp();
  const token: number[] = [];
  r.mimeToken(token);
  return { value: Buffer.from(token), params: parseParams(r) };
}

function parseLanguage(value: Buffer): Buffer[] | undefined {
  const r = new Rfc822Reader(value);
  const langs: Buffer[] = [];
  r.skipLwsp();
  for (;;) {
    const atom: number[] = [];
    if (r.atom(atom) < 0) break;
    langs.push(Buffer.from(atom));
    if (r.end || r.peek() !== 0x2c) break;
    r.pos++;
    r.skipLwsp();
  }
  return langs.length > 0 ? langs : undefined;
}

function parseEncoding(value: Buffer): Buffer | undefined {
  const r = new Rfc822Reader(value);
  r.skipLwsp();
  const token: number[] = [];
  if (r.mimeToken(token) >= 0 && r.skipLwsp() === 0 && token.length > 0) return Buffer.from(token);
  return undefined;
}

export function contentFields(fields: readonly HeaderField[]): ContentFields {
  const out: ContentFields = {};
  const ct = firstField(fields, 'Content-Type');
  if (ct) out.type = parseType(ct);
  const cte = firstField(fields, 'Content-Transfer-Encoding');
  if (cte) out.encoding = parseEncoding(cte);
  out.id = firstField(fields, 'Content-ID');
  out.description = firstField(fields, 'Content-Description');
  out.md5 = firstField(fields, 'Content-MD5');
  out.location = firstField(fields, 'Content-Location');
  const cd = firstField(fields, 'Content-Disposition');
  if (cd) out.disposition = parseDisposition(cd);
  const cl = firstField(fields, 'Content-Language');
  if (cl) out.language = parseLanguage(cl);
  return out;
}

/** The MIME type in lower case (`text/plain`) for structure decisions, '' when unreadable. */
export function typeOf(fields: ContentFields): { type: string; subtype: string } | undefined {
  if (!fields.type) return undefined;
  return { type: fields.type.type.toString('latin1').toLowerCase(), subtype: fields.type.subtype.toString('latin1').toLowerCase() };
}
