/**
 * A push parser for the MIME structure of a message as Dovecot's message-parser sees it, for
 * SEARCH: it reports each part's header block and the raw body bytes of leaf parts, without
 * holding more than a line (or a bounded header block) in memory.
 *
 * Dovecot's rules that matter here: a boundary line is `--` followed by any open multipart's
 * boundary as a prefix (the longest wins, the innermost first), and it closes every multipart
 * opened inside that one; `--boundary--` ends the multipart; the line break before a boundary
 * line belongs to it; a message/rfc822 part (whatever its Content-Transfer-Encoding) contains a
 * message; parts of multipart/digest default to message/rfc822. Input has LF line ends.
 */
import { parseHeaderBlock, type HeaderField } from './header-block.js';
import { partType, type PartType } from './content-type.js';

export interface MimeSink {
  /** A part's header block is complete. Called for the message itself first (`depth` 0). */
  part(fields: readonly HeaderField[], type: PartType, depth: number): void;
  /** Raw body bytes of the current leaf part (not multipart preambles or epilogues). */
  body(chunk: Buffer): void;
}

/** Header blocks beyond this are cut (the rest of the block is skipped). */
const MAX_HEADER = 1024 * 1024;
/** A partial line longer than this that cannot be a boundary line is passed on unbuffered. */
const MAX_LINE = 64 * 1024;
/** Dovecot's limits on MIME nesting and part count: beyond them, boundaries are not looked for. */
const MAX_DEPTH = 100;
const MAX_PARTS = 10_000;

interface Multipart {
  boundary: Buffer;
  digest: boolean;
  depth: number;
}

type Mode = 'header' | 'leaf' | 'skip';

export class MimeWalker {
  private readonly open: Multipart[] = [];
  private mode: Mode = 'header';
  private header: Buffer[] = [];
  private headerSize = 0;
  /** Default type of the part whose header is being read. */
  private digestChild = false;
  private depth = 0;
  private parts = 0;
  private partial: Buffer | null = null;
  /** A leaf body's last line break, held back until the next line shows it is not a boundary. */
  private heldNewline = false;

  constructor(private readonly sink: MimeSink) {}

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.partial) {
      buf = Buffer.concat([this.partial, chunk]);
      this.partial = null;
    }
    let pos = 0;
    let runStart = -1; // start of the current run of leaf body bytes in buf
    while (pos < buf.length) {
      const nl = buf.indexOf(0x0a, pos);
      if (nl < 0) break;
      const line = buf.subarray(pos, nl);
      const b = this.boundaryOf(line);
      if (b) {
        if (runStart >= 0) this.emitBody(buf.subarray(runStart, pos), true);
        runStart = -1;
        this.heldNewline = false;
        this.onBoundary(b, line);
      } else if (this.mode === 'leaf') {
        if (runStart < 0) runStart = pos;
      } else if (this.mode === 'header') this.headerLine(line);
      pos = nl + 1;
    }
    if (runStart >= 0) this.emitBody(buf.subarray(runStart, pos), true);
    if (pos < buf.length) {
      const rest = buf.subarray(pos);
      if (rest.length > MAX_LINE && this.mode === 'leaf' && !(rest[0] === 0x2d && rest[1] === 0x2d)) this.emitBody(rest, false);
      else if (rest.length > MAX_LINE * 16) {
        if (this.mode === 'leaf') this.emitBody(rest, false); // an absurd line: treat as data
      } else this.partial = Buffer.from(rest);
    }
  }

  end(): void {
    if (this.partial) {
      const rest = this.partial;
      this.partial = null;
      const b = this.boundaryOf(rest);
      if (b) this.onBoundary(b, rest);
      else if (this.mode === 'leaf') this.emitBody(rest, false);
      else if (this.mode === 'header') this.headerLine(rest);
    }
    if (this.mode === 'header') this.endHeader();
    // The message ends without a boundary after its last line break: it belongs to the body.
    if (this.heldNewline && this.mode === 'leaf') this.sink.body(NEWLINE);
    this.heldNewline = false;
  }

  /** `ends` says the bytes end with a line break, which is held back (it may belong to a boundary). */
  private emitBody(bytes: Buffer, ends: boolean): void {
    if (this.heldNewline) {
      this.sink.body(NEWLINE);
      this.heldNewline = false;
    }
    if (ends && bytes.length > 0) {
      this.heldNewline = true;
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    if (bytes.length > 0) this.sink.body(bytes);
  }

  private boundaryOf(line: Buffer): { index: number; close: boolean } | null {
    if (line.length < 3 || line[0] !== 0x2d || line[1] !== 0x2d || this.open.length === 0) return null;
    let best = -1;
    for (let i = this.open.length - 1; i >= 0; i--) {
      const bd = this.open[i]!.boundary;
      if (bd.length <= line.length - 2 && line.compare(bd, 0, bd.length, 2, 2 + bd.length) === 0 && (best < 0 || this.open[best]!.boundary.length < bd.length)) best = i;
    }
    if (best < 0) return null;
    const len = this.open[best]!.boundary.length;
    return { index: best, close: line[2 + len] === 0x2d && line[3 + len] === 0x2d };
  }

  private onBoundary(b: { index: number; close: boolean }, _line: Buffer): void {
    if (this.mode === 'header') this.endHeader(true);
    const mp = this.open[b.index]!;
    this.open.length = b.index + 1;
    if (b.close) {
      this.open.length = b.index;
      this.mode = 'skip'; // the epilogue
      return;
    }
    this.mode = 'header';
    this.digestChild = mp.digest;
    this.depth = mp.depth + 1;
  }

  private headerLine(line: Buffer): void {
    if (line.length === 0 || (line.length === 1 && line[0] === 0x0d)) {
      this.endHeader();
      return;
    }
    if (this.headerSize < MAX_HEADER) {
      this.header.push(Buffer.from(line), NEWLINE);
      this.headerSize += line.length + 1;
    }
  }

  /** `cut`: a boundary came before the blank line, so the part has no body. */
  private endHeader(cut = false): void {
    const fields = parseHeaderBlock(Buffer.concat(this.header));
    this.header = [];
    this.headerSize = 0;
    const type = partType(fields);
    if (!type.present && this.digestChild) type.type = 'message/rfc822';
    this.digestChild = false;
    this.parts++;
    this.sink.part(fields, type, this.depth);
    const nestable = this.depth < MAX_DEPTH && this.parts < MAX_PARTS;
    if (cut) {
      this.mode = 'skip';
    } else if (type.type.startsWith('multipart/') && type.boundary && nestable) {
      this.open.push({ boundary: Buffer.from(type.boundary, 'latin1'), digest: type.type === 'multipart/digest', depth: this.depth });
      this.mode = 'skip'; // the preamble
    } else if (type.type === 'message/rfc822' && nestable) {
      this.mode = 'header';
      this.depth++;
    } else this.mode = 'leaf';
  }
}

const NEWLINE = Buffer.from('\n');
