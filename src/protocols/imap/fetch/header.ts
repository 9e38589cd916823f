/**
 * Header fields of one MIME part as Dovecot 2.3's message-header-parser sees them: a field's
 * name is the text before the first colon (trailing white space dropped; a line without a colon
 * is a field with an empty value), the value starts after the colon and any SP/TAB, and a folded
 * value keeps its line breaks (CRLF) and the continuation's leading white space. NUL bytes in a
 * value become U+FFFD, as Dovecot does before anything else sees them.
 */
export interface HeaderField {
  /** As written (compare case-insensitively). */
  name: string;
  /** The whole value as bytes, folds (CRLF + white space) kept. */
  value: Buffer;
}

const REPLACEMENT = Buffer.from([0xef, 0xbf, 0xbd]);

function withoutNul(b: Buffer): Buffer {
  if (!b.includes(0)) return b;
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0) {
      parts.push(b.subarray(start, i), REPLACEMENT);
      start = i + 1;
    }
  }
  parts.push(b.subarray(start));
  return Buffer.concat(parts);
}

/** Splits `header` (raw bytes, blank line optional) into lines without their line ends. */
function lines(header: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  while (start < header.length) {
    const lf = header.indexOf(0x0a, start);
    const end = lf < 0 ? header.length : lf;
    const line = header.subarray(start, end > start && header[end - 1] === 0x0d ? end - 1 : end);
    if (lf >= 0 && line.length === 0) break; // the blank line ending the header
    out.push(line);
    start = lf < 0 ? header.length : lf + 1;
  }
  return out;
}

export function parseHeader(header: Buffer): HeaderField[] {
  const fields: HeaderField[] = [];
  let current: { name: string; parts: Buffer[] } | null = null;
  const flush = () => {
    if (current) fields.push({ name: current.name, value: withoutNul(Buffer.concat(current.parts)) });
    current = null;
  };
  for (const line of lines(header)) {
    if ((line[0] === 0x20 || line[0] === 0x09) && current) {
      current.parts.push(Buffer.from('\r\n'), line);
      continue;
    }
    flush();
    const colon = line.indexOf(0x3a);
    if (colon < 0) {
      current = { name: line.toString('latin1'), parts: [] };
      continue;
    }
    let nameEnd = colon;
    while (nameEnd > 0 && (line[nameEnd - 1] === 0x20 || line[nameEnd - 1] === 0x09)) nameEnd--;
    let v = colon + 1;
    while (v < line.length && (line[v] === 0x20 || line[v] === 0x09)) v++;
    current = { name: line.subarray(0, nameEnd).toString('latin1'), parts: [line.subarray(v)] };
  }
  flush();
  return fields;
}

/** The first field called `name` (case-insensitive), as Dovecot takes the first Content-* field. */
export function firstField(fields: readonly HeaderField[], name: string): Buffer | undefined {
  const lower = name.toLowerCase();
  return fields.find((f) => f.name.toLowerCase() === lower)?.value;
}

/**
 * A value with its line breaks removed, as Dovecot writes Date, Message-ID, Content-ID and the
 * like: CRLF and LF go, a lone CR becomes a space.
 */
export function withoutLineBreaks(v: Buffer): Buffer {
  if (!v.includes(0x0d) && !v.includes(0x0a)) return v;
  const out: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === 0x0a) continue;
    if (c === 0x0d) {
      if (v[i + 1] !== 0x0a) out.push(0x20);
      continue;
    }
    out.push(c);
  }
  return Buffer.from(out);
}
