/**
 * BODY[section]<partial> (RFC 9051 6.4.5): which bytes of the served (CRLF) message a section
 * is, and its name in the response. Part numbers are resolved as Dovecot 2.3 does
 * (imap-msgpart.c): a non-multipart part has exactly one part, numbered 1 (itself; for the
 * message, its body), a number may go on into a message/rfc822 part's message, and HEADER /
 * TEXT / HEADER.FIELDS of a part need a message/rfc822 part. A section that does not exist is
 * an empty string, not an error.
 */
import type { BodySection } from '../types.js';
import type { MimeNode } from './tree-cache.js';

export interface ByteRange {
  start: number;
  end: number;
}

/** Bytes of a section: a range of the message, or bytes computed from its header. */
export interface HeaderFieldsSource {
  kind: 'header-fields';
  header: ByteRange;
  fields: string[];
  not: boolean;
  /**
   * For a header without an empty line: the message's own header gets CRLF after
   * HEADER.FIELDS when it found something; an encapsulated one gets CRLF when another part
   * (`followed`) comes after it.
   */
  top: boolean;
  followed: boolean;
  /** The header had an empty line, even if a boundary line took its line break. */
  emptyLine: boolean;
}

export type SectionSource = { kind: 'range'; range: ByteRange } | HeaderFieldsSource | { kind: 'empty' };

/** The part a dotted number names, or undefined (imap_msgpart_find). */
export function findPart(root: MimeNode, numbers: readonly number[]): MimeNode | undefined {
  let part: MimeNode | undefined = root;
  for (let i = 0; i < numbers.length && part; i++) {
    const n = numbers[i]!;
    const more = i + 1 < numbers.length;
    if (part.kind === 'multipart') part = part.children[n - 1];
    else if (n !== 1 || (more && part.kind !== 'message')) part = undefined;
    if (part && part.kind === 'message' && more) part = part.children[0];
  }
  return part;
}

function startsAfter(node: MimeNode, offset: number): boolean {
  return node.start > offset || node.children.some((c) => startsAfter(c, offset));
}

function bodyOf(p: MimeNode): ByteRange {
  const start = p.start + p.headerSize;
  return { start, end: start + p.bodySize };
}

function headerOf(p: MimeNode): ByteRange {
  return { start: p.start, end: p.start + p.headerSize };
}

export function sectionSource(root: MimeNode, s: BodySection): SectionSource {
  const part = findPart(root, s.part);
  if (!part) return { kind: 'empty' };
  if (s.specifier === undefined) {
    return { kind: 'range', range: s.part.length === 0 ? { start: 0, end: root.start + root.headerSize + root.bodySize } : bodyOf(part) };
  }
  if (s.specifier === 'MIME') return s.part.length === 0 ? { kind: 'empty' } : { kind: 'range', range: headerOf(part) };
  // HEADER, TEXT and HEADER.FIELDS of a part are those of its encapsulated message.
  let message: MimeNode | undefined = part;
  if (s.part.length > 0) message = part.kind === 'message' ? part.children[0] : undefined;
  if (!message) return { kind: 'empty' };
  if (s.specifier === 'HEADER') return { kind: 'range', range: headerOf(message) };
  if (s.specifier === 'TEXT') return { kind: 'range', range: bodyOf(message) };
  // Dovecot ends an encapsulated header without an empty line with CRLF when another part
  // follows it, not when only the end of the file (or end boundaries) does.
  const header = headerOf(message);
  const atEnd = !startsAfter(root, header.end);
  return { kind: 'header-fields', header, fields: s.fields ?? [], not: s.specifier === 'HEADER.FIELDS.NOT', top: s.part.length === 0, followed: !atEnd, emptyLine: message.hasEmptyLine };
}

/** `BODY[1.2.HEADER.FIELDS (FROM TO)]<0>` as Dovecot names it in the response. */
export function sectionName(s: BodySection): string {
  let text = s.part.join('.');
  if (s.specifier !== undefined) {
    if (text !== '') text += '.';
    text += s.specifier;
    if (s.specifier === 'HEADER.FIELDS' || s.specifier === 'HEADER.FIELDS.NOT') text += ` (${(s.fields ?? []).map(fieldName).join(' ')})`;
  }
  return `BODY[${text}]${s.partial ? `<${s.partial.offset}>` : ''}`;
}

/** A header field name in the echoed list: upper case, quoted when it is not an atom. */
function fieldName(name: string): string {
  const upper = name.toUpperCase();
  return /^[!#$&'+\-.0-9:<=>?@A-Z^_`|~\]]+$/.test(upper) ? upper : `"${upper.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * The header fields of `header` (raw bytes, CRLF) named in `fields`, or all others with `not`,
 * in message order, as Dovecot's header filter gives them: the header's own empty line is
 * passed when it has one. Without one (a header that runs to the end of the message or part),
 * HEADER.FIELDS adds CRLF after what it found (an empty header gives CRLF) unless `top` is
 * false (an encapsulated message's header that runs to the end of the file), and
 * HEADER.FIELDS.NOT adds nothing.
 *
 * Dovecot itself is not consistent for a header that ends the file without a line end: when
 * it has read the whole message before, HEADER.FIELDS ends that last field with CRLF and then
 * adds the empty line; we answer as its first fetch does.
 */
export function filterHeader(header: Buffer, src: Pick<HeaderFieldsSource, 'fields' | 'not' | 'top' | 'followed' | 'emptyLine'>): Buffer {
  const { fields, not, top } = src;
  const wanted = new Set(fields.map((f) => f.toLowerCase()));
  const out: Buffer[] = [];
  // A continuation line before any field is a field of its own (with no name).
  let include = not;
  let pos = 0;
  let eoh = false;
  while (pos < header.length) {
    const lf = header.indexOf(0x0a, pos);
    const end = lf < 0 ? header.length : lf + 1;
    const line = header.subarray(pos, end);
    pos = end;
    if (line.length === 2 && line[0] === 0x0d && line[1] === 0x0a) {
      eoh = true;
      break;
    }
    if (line[0] !== 0x20 && line[0] !== 0x09) {
      const colon = line.indexOf(0x3a);
      let nameEnd = colon < 0 ? line.length : colon;
      while (nameEnd > 0 && [0x20, 0x09, 0x0d, 0x0a].includes(line[nameEnd - 1]!)) nameEnd--;
      include = wanted.has(line.subarray(0, nameEnd).toString('latin1').toLowerCase()) !== not;
    }
    if (include) out.push(line);
  }
  const missingEnd = top ? out.length > 0 || header.length === 0 : src.followed;
  if (eoh || src.emptyLine || (!not && missingEnd)) out.push(Buffer.from('\r\n'));
  return Buffer.concat(out);
}

/** Applies `<offset.length>` to a section of `size` bytes: the sub-range, relative to it. */
export function applyPartial(size: number, partial: BodySection['partial']): ByteRange {
  if (!partial) return { start: 0, end: size };
  const start = Math.min(partial.offset, size);
  return { start, end: Math.min(size, start + partial.length) };
}
