/**
 * The MIME structure of a message with the byte offsets of every part's header and body in the
 * CRLF form served to clients (what Folder.read() yields), found in one streaming pass: only
 * the part headers and the current line's start are held, never the message.
 *
 * Boundaries and sizes follow Dovecot 2.3's message-parser so BODYSTRUCTURE sizes and
 * BODY[section] bytes match it on the same file:
 * - a line is a boundary of an open multipart when it starts with `--boundary` (a prefix match:
 *   `--abc` closes parts of boundary `ab`); `--boundary--` ends the multipart, and what follows
 *   (the epilogue) is body of the multipart, not of a part;
 * - the line break before a boundary line belongs to the boundary, not to the part before it;
 * - a part's header ends at an empty line, at a boundary line, or at the end of the message;
 * - multipart/* without a boundary parameter is a leaf;
 * - past Dovecot's limits (MAX_DEPTH nested containers, MAX_PARTS parts) a multipart or
 *   message/rfc822 part is a leaf reported as application/octet-stream, and boundary lines
 *   after the last allowed part are data;
 * - parts of multipart/digest default to message/rfc822, all others to text/plain;
 * - message/rfc822 (whatever its Content-Transfer-Encoding) holds one message part.
 * A line is whatever ends in LF; a lone CR is an ordinary byte, as in Dovecot.
 */
import { contentFields, typeOf, type ContentFields } from './content-fields.js';
import { parseHeader } from './header.js';

/** Depth from which a part may no longer hold parts (Dovecot: max_nested_mime_parts 100). */
const MAX_DEPTH = 99;
/** Dovecot's max_total_mime_parts default. */
const MAX_PARTS = 10000;
/** Header bytes kept per part; beyond this they are counted but not parsed. */
const MAX_HEADER_BYTES = 1 << 20;
/** Bytes of a body line kept to match boundaries against (RFC 2046: boundaries ≤ 70 chars). */
const LINE_PREFIX = 1024;

export type PartKind = 'leaf' | 'multipart' | 'message';

export interface MimePart {
  /** Offset of the part's header (for the root, 0). */
  start: number;
  /** Header bytes, the empty line ending it included. */
  headerSize: number;
  bodySize: number;
  /** Line breaks (LF) in the body: BODYSTRUCTURE's size in lines. */
  bodyLines: number;
  /** The raw header (kept up to a limit). */
  header: Buffer;
  /** Whether the header ended with an empty line (not at a boundary or the end). */
  hasEmptyLine: boolean;
  fields: ContentFields;
  kind: PartKind;
  /** Whether the Content-Type says text/* (lines are reported for these). */
  text: boolean;
  /** multipart: parts in order; message: exactly one (the encapsulated message). */
  children: MimePart[];
}

interface Frame {
  part: MimePart;
  inHeader: boolean;
  headerChunks: Buffer[];
  headerBytes: number;
  /** LFs before the body started. */
  bodyLf: number;
  /** multipart with an open boundary (`--` + boundary), until its end line. */
  boundary: Buffer | null;
  digest: boolean;
  /** A part of a multipart (MIME by definition), not a message. */
  inMultipart: boolean;
  depth: number;
}

const CRLF_LEN = 2;

export class MimeTreeBuilder {
  private readonly frames: Frame[] = [];
  private root: MimePart;
  /** Offset of the current line's start. */
  private pos = 0;
  private lf = 0;
  /** Start of the current (unfinished) line, up to LINE_PREFIX bytes, or all of it in a header. */
  private line: Buffer[] = [];
  private lineLen = 0;
  private lineKept = 0;
  /** The last two bytes of the current line (the kept prefix may not reach its end). */
  private lastByte = -1;
  private beforeLast = -1;
  /** Line break length at the end of the previous line (0 at the start of the message). */
  private prevBreak = 0;
  /** Whether the previous line was a header field (of a header a boundary may cut short). */
  private prevHeaderField = false;
  private parts = 1;

  constructor() {
    this.root = newPart(0);
    this.frames.push(newFrame(this.root, false, 0));
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(0x0a, start);
      const end = lf < 0 ? chunk.length : lf + 1;
      this.addToLine(chunk.subarray(start, end));
      if (lf >= 0) this.finishLine(true);
      start = end;
    }
  }

  /** Whether the message's own header has been read completely. */
  get rootHeaderDone(): boolean {
    return this.frames.length === 0 || this.frames[0]!.part !== this.root || !this.frames[0]!.inHeader;
  }

  end(): MimePart {
    if (this.lineLen > 0) this.finishLine(false);
    this.closeFrames(0, this.pos);
    return this.root;
  }

  private addToLine(piece: Buffer): void {
    const top = this.frames[this.frames.length - 1]!;
    const keep = top.inHeader ? piece.length : Math.max(0, Math.min(piece.length, LINE_PREFIX - this.lineKept));
    if (keep > 0) {
      this.line.push(keep === piece.length ? piece : piece.subarray(0, keep));
      this.lineKept += keep;
    }
    this.lineLen += piece.length;
    this.beforeLast = piece.length >= 2 ? piece[piece.length - 2]! : this.lastByte;
    this.lastByte = piece[piece.length - 1]!;
  }

  private finishLine(hasLf: boolean): void {
    const line = this.line.length === 1 ? this.line[0]! : Buffer.concat(this.line);
    const len = this.lineLen;
    const crlf = this.beforeLast === 0x0d;
    this.line = [];
    this.lineLen = 0;
    this.lineKept = 0;
    this.lastByte = -1;
    this.beforeLast = -1;
    const kind = this.handleLine(line, len, hasLf);
    this.pos += len;
    if (hasLf) this.lf++;
    this.prevHeaderField = kind === 'header-field';
    // The line break before a boundary line belongs to it, even the one of the empty line
    // ending a header (the header is then that much shorter); a boundary line's own is taken.
    this.prevBreak = hasLf && kind !== 'boundary' ? (crlf ? CRLF_LEN : 1) : 0;
  }

  private handleLine(line: Buffer, len: number, hasLf: boolean): 'data' | 'header-field' | 'boundary' {
    if (line[0] === 0x2d && line[1] === 0x2d) {
      for (let i = this.frames.length - 1; i >= 0; i--) {
        const b = this.frames[i]!.boundary;
        if (b && line.length >= 2 + b.length && line.subarray(2, 2 + b.length).equals(b) && this.parts < MAX_PARTS) {
          const isEnd = line[2 + b.length] === 0x2d && line[3 + b.length] === 0x2d;
          this.boundaryLine(i, isEnd, len);
          return 'boundary';
        }
      }
    }
    const top = this.frames[this.frames.length - 1]!;
    if (!top.inHeader) return 'data';
    const blank = hasLf && (len === 1 || (len === 2 && line[0] === 0x0d));
    if (!blank) {
      if (top.headerBytes < MAX_HEADER_BYTES) top.headerChunks.push(line);
      top.headerBytes += len;
      return 'header-field';
    }
    top.part.headerSize = this.pos + len - top.part.start;
    top.part.hasEmptyLine = true;
    this.startBody(top, this.pos + len, this.lf + 1);
    return 'data';
  }

  /** Header done (at `bodyStart`): decide what the part holds. */
  private startBody(frame: Frame, bodyStart: number, bodyLf: number): void {
    frame.inHeader = false;
    frame.bodyLf = bodyLf;
    const part = frame.part;
    part.header = Buffer.concat(frame.headerChunks);
    frame.headerChunks = [];
    const fields = parseHeader(part.header);
    // Content-* fields count only in a MIME part: one with MIME-Version or Content-Type, or a
    // part of a multipart (Dovecot's MESSAGE_PART_FLAG_IS_MIME without MIME_VERSION_STRICT).
    const mime = frame.inMultipart || fields.some((f) => /^(mime-version|content-type)$/i.test(f.name));
    part.fields = mime ? contentFields(fields) : {};
    const t = typeOf(part.fields);
    const canNest = frame.depth < MAX_DEPTH && this.parts < MAX_PARTS;
    const container = t === undefined ? frame.digest : (t.type === 'message' && t.subtype === 'rfc822') || t.type === 'multipart';
    part.text = t === undefined ? !frame.digest : t.type === 'text';
    if (container && !canNest) {
      // Over the limits Dovecot keeps the part as opaque data under another name.
      part.fields.type = { type: Buffer.from('application'), subtype: Buffer.from('octet-stream'), params: part.fields.type?.params ?? [] };
    } else if (t === undefined) {
      if (frame.digest) part.kind = 'message';
    } else if (t.type === 'message' && t.subtype === 'rfc822') part.kind = 'message';
    else if (t.type === 'multipart') {
      const boundary = part.fields.type!.params.find((p) => p.name.toString('latin1').toLowerCase() === 'boundary');
      part.kind = 'multipart';
      if (boundary) frame.boundary = boundary.value;
    }
    if (part.kind === 'message') {
      const child = newPart(bodyStart);
      part.children.push(child);
      this.parts++;
      this.frames.push(newFrame(child, false, frame.depth + 1));
    }
  }

  /** A boundary of frames[index] at the current line. */
  private boundaryLine(index: number, isEnd: boolean, len: number): void {
    const owner = this.frames[index]!;
    // The line break before the boundary line belongs to it.
    const end = this.pos - this.prevBreak;
    const endLf = this.lf - (this.prevBreak > 0 ? 1 : 0);
    const top = this.frames[this.frames.length - 1]!;
    if (this.prevBreak > 0 && (this.prevHeaderField || top.part.start + top.part.headerSize === this.pos) && this.frames.length - 1 > index) {
      // The line break was the end of a header (a field, or the empty line before an empty
      // body): that header loses it, but the parts around it keep it (Dovecot counts it in
      // their bodies).
      this.closeFrames(this.frames.length - 1, end, endLf);
      this.closeFrames(index + 1, this.pos, this.lf);
    } else this.closeFrames(index + 1, end, endLf);
    if (isEnd) {
      owner.boundary = null;
      return;
    }
    const child = newPart(this.pos + len);
    owner.part.children.push(child);
    this.parts++;
    this.frames.push(newFrame(child, owner.part.fields.type !== undefined && typeOf(owner.part.fields)!.subtype === 'digest', owner.depth + 1, true));
  }

  /** Ends frames[from..] at `end` (`endLf` line breaks before it). */
  private closeFrames(from: number, end: number, endLf = this.lf): void {
    while (this.frames.length > from) {
      const f = this.frames.pop()!;
      const part = f.part;
      if (f.inHeader) {
        const headerEnd = Math.max(end, part.start);
        part.headerSize = headerEnd - part.start;
        this.startBody(f, headerEnd, endLf);
        // An encapsulated message startBody opened is closed next round: empty.
      }
      if (end < part.start + part.headerSize) part.headerSize = Math.max(0, end - part.start);
      const bodyStart = part.start + part.headerSize;
      part.bodySize = Math.max(0, end - bodyStart);
      part.bodyLines = Math.max(0, endLf - f.bodyLf);
    }
  }
}

function newPart(start: number): MimePart {
  return { start, headerSize: 0, bodySize: 0, bodyLines: 0, header: Buffer.alloc(0), hasEmptyLine: false, fields: {}, kind: 'leaf', text: true, children: [] };
}

function newFrame(part: MimePart, digest: boolean, depth: number, inMultipart = false): Frame {
  return { part, inHeader: true, headerChunks: [], headerBytes: 0, bodyLf: 0, boundary: null, digest, inMultipart, depth };
}

/**
 * Ends a stream a reader leaves early. Leaving a for-await loop would destroy it too, but with an
 * AbortError whose stack is built: more CPU than reading a small message.
 */
export function stopReading(source: unknown): void {
  const s = source as { destroy?: () => void };
  if (typeof s.destroy === 'function') s.destroy();
}

/** Parses a whole message stream. */
export async function parseMime(source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>): Promise<MimePart> {
  const b = new MimeTreeBuilder();
  for await (const chunk of source) b.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
  return b.end();
}

/**
 * Only the message's own header (ENVELOPE needs no more): stops reading at its end. The
 * returned part has the header and its size; body fields are not meaningful.
 */
export async function parseRootHeader(source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>): Promise<MimePart> {
  const b = new MimeTreeBuilder();
  for await (const chunk of source) {
    b.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
    if (b.rootHeaderDone) {
      stopReading(source);
      break;
    }
  }
  return b.end();
}
