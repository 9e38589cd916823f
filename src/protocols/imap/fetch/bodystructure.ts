/**
 * BODY and BODYSTRUCTURE (RFC 9051 7.5.2) of a parsed MIME tree, as Dovecot 2.3 writes them
 * (imap-bodystructure.c): types, parameters and encodings as the message spells them, text/*
 * without a charset gets `"charset" "us-ascii"`, a part without Content-Type is text/plain
 * (message/rfc822 in a digest), a multipart with no parts gets one empty text/plain part, and
 * message/rfc822 carries the encapsulated message's ENVELOPE, structure and line count.
 */
import { nstring, string } from '../encoder.js';
import type { Param } from './content-fields.js';
import { renderEnvelope } from './envelope.js';
import { parseHeader, withoutLineBreaks } from './header.js';
import type { MimePart } from './mime-tree.js';

const NIL = Buffer.from('NIL');
const SP = Buffer.from(' ');
const EMPTY_PART = '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0';

function nolf(v: Buffer | undefined): Buffer {
  if (v === undefined) return NIL;
  return nstring(withoutLineBreaks(v));
}

function params(list: readonly Param[], defaultCharset: boolean): Buffer {
  const items: Buffer[] = [];
  let charset = false;
  for (const p of list) {
    if (p.name.toString('latin1').toLowerCase() === 'charset') charset = true;
    items.push(string(p.name), string(p.value));
  }
  if (defaultCharset && !charset) items.push(Buffer.from('"charset" "us-ascii"'));
  if (items.length === 0) return NIL;
  return Buffer.concat([Buffer.from('('), ...join(items), Buffer.from(')')]);
}

function join(items: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  items.forEach((b, i) => {
    if (i > 0) out.push(SP);
    out.push(b);
  });
  return out;
}

/** body-ext-1part / body-ext-mpart tail after MD5 or params: disposition, language, location. */
function dispositionLanguageLocation(part: MimePart): Buffer[] {
  const f = part.fields;
  const disposition = f.disposition
    ? Buffer.concat([Buffer.from('('), string(f.disposition.value), SP, params(f.disposition.params, false), Buffer.from(')')])
    : NIL;
  const language = f.language ? Buffer.concat([Buffer.from('('), ...join(f.language.map((l) => string(l))), Buffer.from(')')]) : NIL;
  return [disposition, SP, language, SP, nolf(f.location)];
}

function multipart(part: MimePart, extended: boolean): Buffer {
  const out: Buffer[] = [Buffer.from('(')];
  if (part.children.length === 0) out.push(Buffer.from(extended ? `${EMPTY_PART} NIL NIL NIL NIL)` : `${EMPTY_PART})`));
  for (const child of part.children) out.push(structure(child, extended));
  out.push(SP, string(part.fields.type!.subtype));
  if (extended) out.push(SP, params(part.fields.type!.params, false), SP, ...dispositionLanguageLocation(part));
  out.push(Buffer.from(')'));
  return Buffer.concat(out);
}

function single(part: MimePart, extended: boolean): Buffer {
  const f = part.fields;
  const out: Buffer[] = [Buffer.from('(')];
  const message = part.kind === 'message';
  if (message) out.push(Buffer.from('"message" "rfc822"'));
  else if (!f.type) out.push(Buffer.from('"text" "plain"'));
  else out.push(string(f.type.type), SP, string(f.type.subtype));
  out.push(SP, params(f.type?.params ?? [], !message && part.text));
  out.push(SP, nolf(f.id), SP, nolf(f.description), SP);
  out.push(f.encoding ? string(f.encoding) : Buffer.from('"7bit"'), SP, Buffer.from(String(part.bodySize)));
  if (message) {
    const inner = part.children[0]!;
    out.push(SP, renderEnvelope(parseHeader(inner.header)), SP, structure(inner, extended), SP, Buffer.from(String(part.bodyLines)));
  } else if (part.text) {
    out.push(SP, Buffer.from(String(part.bodyLines)));
  }
  if (extended) out.push(SP, nolf(f.md5), SP, ...dispositionLanguageLocation(part));
  out.push(Buffer.from(')'));
  return Buffer.concat(out);
}

/** The structure of `part` (the message root, or any part); `extended` = BODYSTRUCTURE. */
export function structure(part: MimePart, extended: boolean): Buffer {
  return part.kind === 'multipart' ? multipart(part, extended) : single(part, extended);
}
