/**
 * The IMAP command framer: a push parser that cuts the client's byte stream into commands,
 * without sockets. A command is its line(s) with their literals (RFC 9051 4.3: `{n}` CRLF and n
 * bytes; `{n+}` non-synchronizing, RFC 7888; `~{n}` literal8, RFC 3516). Memory is bounded for
 * any input: a line longer than maxLineLength, a literal over its limit or a command over
 * maxCommandSize is skipped (not buffered) and reported as an error event in its place.
 *
 * Events, in the order the client sent the commands:
 * - `command`: one whole command frame (bytes, literals inline) for parseCommand().
 * - `continue`: a synchronizing literal of an ordinary command was announced; the session sends
 *   `+ OK` and calls accept(), or answers the tagged NO/BAD itself and calls refuse() (the client,
 *   having had no `+`, sends no literal; the command is over).
 * - `append`: APPEND's head up to its message literal (for parseAppendHead). For `{n}` the
 *   session checks it and calls accept() (after sending `+ OK`) or refuse(); `{n+}` (no choice,
 *   RFC 7888) streams at once. Then `literal-data` chunks (views into the pushed buffers, never
 *   collected), then `append-end` when the command's line has ended, or `error` (the session
 *   drops what it stored). A 50 MB APPEND is never held in memory.
 * - `error`: the command with this tag (if one was readable) is invalid and has been skipped;
 *   answer `tag BAD message` (`NO [TOOBIG]` when `tooBig` and it is an APPEND). `fatal`: the
 *   connection cannot continue (send `* BYE` and close).
 *
 * While a decision is awaited the framer keeps what the client sent meanwhile (a client that
 * does not wait for `+`), up to maxPending bytes; the session should stop reading meanwhile.
 */
import { isValidTag } from './reader.js';

export interface FramerLimits {
  /** One line of a command, literals excluded (Dovecot imap_max_line_length: 64 KiB). */
  maxLineLength: number;
  /** A literal in any command but APPEND's message. */
  maxLiteralSize: number;
  /** A whole non-APPEND command: its lines and literals. */
  maxCommandSize: number;
  /** APPEND's message literal. */
  maxAppendSize: number;
  /**
   * A non-synchronizing literal over its limit has been sent anyway: up to this many bytes are
   * read and dropped (the command answered BAD); beyond it the connection is closed (RFC 7888 4:
   * the server either reads and discards the data or closes the connection).
   */
  maxDiscardSize: number;
  /** Bytes held while accept()/refuse() is awaited. */
  maxPending: number;
}

export const DEFAULT_LIMITS: FramerLimits = {
  maxLineLength: 64 * 1024,
  maxLiteralSize: 64 * 1024,
  maxCommandSize: 1024 * 1024,
  maxAppendSize: 50 * 1024 * 1024,
  maxDiscardSize: 1024 * 1024,
  maxPending: 256 * 1024,
};

export type FramerEvent =
  | { type: 'command'; frame: Buffer }
  | { type: 'continue'; tag: string; size: number }
  | { type: 'append'; tag: string; head: Buffer; size: number; nonSync: boolean; binary: boolean }
  | { type: 'literal-data'; data: Buffer }
  | { type: 'append-end'; tag: string }
  | { type: 'error'; tag?: string; message: string; fatal: boolean; tooBig?: boolean };

interface Marker {
  size: number;
  nonSync: boolean;
  binary: boolean;
}

/** Longest `~{4294967295+}\r\n` and then some: how much of a line's end a marker can occupy. */
const TAIL = 32;
/** How much of a command's start is looked at for its tag and name. */
const HEAD = 200;

/** The literal marker ending a line (RFC 9051 4.3: the line ends with `{n}` before its CRLF). */
function markerAt(line: Buffer): Marker | null {
  const tail = line.toString('latin1', Math.max(0, line.length - TAIL));
  const m = /(~?)\{(\d{1,20})(\+?)\}\r?\n$/.exec(tail);
  if (!m) return null;
  const size = Number(m[2]);
  return { size, nonSync: m[3] === '+', binary: m[1] === '~' };
}

type Mode =
  | { kind: 'line' }
  | { kind: 'literal'; remaining: number }
  | { kind: 'await'; onAccept: Mode; marker: Marker }
  | { kind: 'append-data'; remaining: number }
  | { kind: 'append-tail' }
  /** Skipping the rest of a failed command; `discard` literal bytes first. */
  | { kind: 'skip'; discard: number; error: { message: string; tooBig?: boolean } }
  | { kind: 'closed' };

const LF = 0x0a;
/**
 * Shared by every framer (never written to): an idle connection's framer holds no objects of its
 * own for them (thousands of connections sit in IDLE).
 */
const EMPTY = Buffer.alloc(0);
const LINE: Mode = Object.freeze({ kind: 'line' });

function complete(limits: Partial<FramerLimits>): limits is FramerLimits {
  return Object.keys(DEFAULT_LIMITS).every((k) => typeof limits[k as keyof FramerLimits] === 'number');
}

export class Framer {
  private readonly limits: FramerLimits;
  private mode: Mode = LINE;
  /** The current line so far. */
  private line: Buffer[] = [];
  private lineLen = 0;
  /** The command so far (complete lines and literals). */
  private parts: Buffer[] = [];
  private cmdSize = 0;
  private firstLine = true;
  private tag: string | undefined;
  private name: string | undefined;
  /** Whether APPEND's mailbox argument has been seen (so the next literal is the message). */
  private appendHasMailbox = false;
  /** The last bytes of a line being skipped: does it end with a literal marker? */
  private skipTail: Buffer = EMPTY;
  private pending: Buffer[] = [];
  private pendingLen = 0;

  /**
   * Set while the session awaits a line that is not a command (an AUTHENTICATE response, IDLE's
   * DONE): an empty line is then one too (RFC 9051 6.2.2: an empty SASL response), not skipped.
   */
  lines = false;

  constructor(limits: Partial<FramerLimits> = {}) {
    // A complete set (the server's, one per listener) is shared, not copied per connection.
    this.limits = complete(limits) ? limits : { ...DEFAULT_LIMITS, ...limits };
  }

  /** Whether accept()/refuse() is awaited. */
  get awaiting(): boolean {
    return this.mode.kind === 'await';
  }

  /** Bytes held right now (the partial line, command and pending input): bounded by the limits. */
  get buffered(): number {
    return this.lineLen + this.cmdSize + this.pendingLen;
  }

  push(chunk: Buffer): FramerEvent[] {
    const out: FramerEvent[] = [];
    if (this.mode.kind === 'closed') return out;
    if (this.mode.kind === 'await') {
      this.hold(chunk, out);
      return out;
    }
    this.consume(chunk, out);
    return out;
  }

  /** The session sent `+ OK`: the literal may come. */
  accept(): FramerEvent[] {
    if (this.mode.kind !== 'await') throw new Error('Framer.accept() without a pending literal');
    this.mode = this.mode.onAccept;
    return this.drain();
  }

  /** The session answered the command (tagged NO/BAD) instead: it is over, no literal follows. */
  refuse(): FramerEvent[] {
    if (this.mode.kind !== 'await') throw new Error('Framer.refuse() without a pending literal');
    this.resetCommand();
    this.mode = LINE;
    return this.drain();
  }

  private drain(): FramerEvent[] {
    const out: FramerEvent[] = [];
    const held = this.pending;
    this.pending = [];
    this.pendingLen = 0;
    for (let i = 0; i < held.length; i++) {
      if (this.mode.kind === 'await' || this.mode.kind === 'closed') {
        if (this.mode.kind === 'await') for (const b of held.slice(i)) this.hold(b, out);
        break;
      }
      this.consume(held[i]!, out);
    }
    return out;
  }

  private hold(chunk: Buffer, out: FramerEvent[]): void {
    if (chunk.length === 0) return;
    this.pendingLen += chunk.length;
    if (this.pendingLen > this.limits.maxPending) {
      this.fatal(out, 'Too much data sent before the continuation request');
      return;
    }
    this.pending.push(chunk);
  }

  private fatal(out: FramerEvent[], message: string, tooBig?: boolean): void {
    const ev: FramerEvent = { type: 'error', message, fatal: true };
    if (this.tag !== undefined) ev.tag = this.tag;
    if (tooBig) ev.tooBig = true;
    out.push(ev);
    this.mode = { kind: 'closed' };
    this.pending = [];
    this.pendingLen = 0;
    this.resetCommand();
  }

  private consume(chunk: Buffer, out: FramerEvent[]): void {
    let pos = 0;
    while (pos < chunk.length) {
      const mode = this.mode;
      switch (mode.kind) {
        case 'closed':
          return;
        case 'await':
          this.hold(chunk.subarray(pos), out);
          return;
        case 'literal': {
          const n = Math.min(mode.remaining, chunk.length - pos);
          this.parts.push(chunk.subarray(pos, pos + n));
          this.cmdSize += n;
          pos += n;
          mode.remaining -= n;
          if (mode.remaining === 0) this.mode = LINE;
          break;
        }
        case 'append-data': {
          const n = Math.min(mode.remaining, chunk.length - pos);
          if (n > 0) out.push({ type: 'literal-data', data: chunk.subarray(pos, pos + n) });
          pos += n;
          mode.remaining -= n;
          if (mode.remaining === 0) this.mode = { kind: 'append-tail' };
          break;
        }
        case 'skip': {
          if (mode.discard > 0) {
            const n = Math.min(mode.discard, chunk.length - pos);
            pos += n;
            mode.discard -= n;
            break;
          }
          pos = this.skipLine(chunk, pos, mode, out);
          break;
        }
        case 'line':
        case 'append-tail':
          pos = this.readLine(chunk, pos, out);
          break;
      }
    }
  }

  /** Discards up to the end of a line; at its end, a non-sync literal is discarded too. */
  private skipLine(chunk: Buffer, pos: number, mode: Extract<Mode, { kind: 'skip' }>, out: FramerEvent[]): number {
    const lf = chunk.indexOf(LF, pos);
    const end = lf < 0 ? chunk.length : lf + 1;
    const piece = chunk.subarray(Math.max(pos, end - TAIL), end);
    this.skipTail = Buffer.concat([this.skipTail, piece]);
    if (this.skipTail.length > TAIL) this.skipTail = this.skipTail.subarray(this.skipTail.length - TAIL);
    if (lf < 0) return end;
    const marker = markerAt(this.skipTail);
    this.skipTail = EMPTY;
    if (marker?.nonSync) {
      // RFC 7888 4: the client sends these bytes whatever we answer; read them or hang up.
      if (marker.size > this.limits.maxDiscardSize) {
        this.fatal(out, 'Literal size too large', true);
        return end;
      }
      mode.discard = marker.size;
      return end;
    }
    // A synchronizing literal is never sent without our `+`: the command ends here.
    const ev: FramerEvent = { type: 'error', message: mode.error.message, fatal: false };
    if (this.tag !== undefined) ev.tag = this.tag;
    if (mode.error.tooBig) ev.tooBig = true;
    out.push(ev);
    this.resetCommand();
    this.mode = LINE;
    return end;
  }

  private resetCommand(): void {
    this.line = [];
    this.lineLen = 0;
    this.parts = [];
    this.cmdSize = 0;
    this.firstLine = true;
    this.tag = undefined;
    this.name = undefined;
    this.appendHasMailbox = false;
  }

  private errorText(reason: string): string {
    // As parser.ts words it: without a valid tag the command has no name either.
    return this.name && this.tag !== undefined ? `Error in IMAP command ${this.name}: ${reason}` : `Error in IMAP command: ${reason}`;
  }

  /** Starts skipping the rest of the current command; `rest` is the current line's bytes so far. */
  private skip(rest: Buffer, message: string, tooBig?: boolean): void {
    this.line = [];
    this.lineLen = 0;
    this.parts = [];
    this.cmdSize = 0;
    this.skipTail = rest.subarray(Math.max(0, rest.length - TAIL));
    this.mode = { kind: 'skip', discard: 0, error: tooBig ? { message, tooBig } : { message } };
  }

  private readLine(chunk: Buffer, pos: number, out: FramerEvent[]): number {
    const lf = chunk.indexOf(LF, pos);
    const end = lf < 0 ? chunk.length : lf + 1;
    const piece = chunk.subarray(pos, end);
    if (this.lineLen + piece.length > this.limits.maxLineLength) {
      // Dovecot: "BAD Error in IMAP command X: Too long argument", and the next line is read anew.
      const held = Buffer.concat(this.line);
      this.learnHead(Buffer.concat([held, piece.subarray(0, HEAD + 1)]));
      // What was held may end in the first bytes of a literal marker that the skip must see.
      this.skip(held, this.errorText('Too long argument'));
      // The line's end (and a literal marker there) is examined when the skip reaches its LF.
      return this.skipLine(chunk, pos, this.mode as Extract<Mode, { kind: 'skip' }>, out);
    }
    if (lf < 0) {
      if (piece.length > 0) {
        // Copy: the caller's buffer may be reused; a partial line is ours to keep.
        this.line.push(Buffer.from(piece));
        this.lineLen += piece.length;
      }
      return end;
    }
    const line = this.line.length === 0 ? Buffer.from(piece) : Buffer.concat([...this.line, piece]);
    this.line = [];
    this.lineLen = 0;
    this.onLine(line, out);
    return end;
  }

  /** Reads the tag and command name from a command's first line. */
  private learnHead(line: Buffer): void {
    if (!this.firstLine || this.mode.kind === 'append-tail') return;
    // A name cut off by the view's end is no name: the marker keeps it from matching there.
    // Only what is there however the line was chunked (a too-long line is cut at the limit).
    const view = Math.min(HEAD, this.limits.maxLineLength);
    const text = line.toString('latin1', 0, view) + (line.length > view ? '\0' : '');
    const tag = /^[^ \r\n]+(?=[ \r\n])/.exec(text)?.[0];
    this.tag = tag !== undefined && isValidTag(tag) ? tag : undefined;
    this.name = /^[^ ]+ ((?:UID )?[A-Za-z]+)(?![^ \r\n])/i.exec(text)?.[1]?.toUpperCase();
  }

  private onLine(line: Buffer, out: FramerEvent[]): void {
    if (this.mode.kind === 'append-tail') {
      this.onAppendTail(line, out);
      return;
    }
    if (this.firstLine) {
      // Dovecot ignores empty lines between commands (not where a line is awaited: `lines`).
      if (!this.lines && line.length <= 2 && (line.toString('latin1') === '\r\n' || line.toString('latin1') === '\n')) return;
      this.learnHead(line);
    }
    const marker = markerAt(line);
    if (this.cmdSize + line.length > this.limits.maxCommandSize) {
      this.skip(EMPTY, this.errorText('Too long argument'));
      this.skipTail = line.subarray(Math.max(0, line.length - TAIL));
      this.finishSkippedLine(out);
      return;
    }
    const wasFirst = this.firstLine;
    this.firstLine = false;
    if (!marker) {
      this.parts.push(line);
      const frame = Buffer.concat(this.parts);
      this.resetCommand();
      out.push({ type: 'command', frame });
      return;
    }
    if (this.name === 'APPEND' && this.isMessageLiteral(line, wasFirst)) {
      this.onAppendLiteral(line, marker, out);
      return;
    }
    if (this.name === 'APPEND') this.appendHasMailbox = true;
    if (marker.size > this.limits.maxLiteralSize || this.cmdSize + line.length + marker.size > this.limits.maxCommandSize) {
      this.refuseLiteral(line, out);
      return;
    }
    this.parts.push(line);
    this.cmdSize += line.length;
    const next: Mode = marker.size > 0 ? { kind: 'literal', remaining: marker.size } : LINE;
    if (marker.nonSync) {
      this.mode = next;
    } else if (this.tag === undefined) {
      this.skip(EMPTY, this.errorText('Invalid tag'));
      this.skipTail = line.subarray(Math.max(0, line.length - TAIL));
      this.finishSkippedLine(out);
    } else {
      this.mode = { kind: 'await', onAccept: next, marker };
      out.push({ type: 'continue', tag: this.tag, size: marker.size });
    }
  }

  /** A skipped command whose last line is already complete: end it as skipLine would. */
  private finishSkippedLine(out: FramerEvent[]): void {
    const mode = this.mode as Extract<Mode, { kind: 'skip' }>;
    const tail = this.skipTail;
    this.skipTail = EMPTY;
    this.skipLine(tail, 0, mode, out);
  }

  private refuseLiteral(line: Buffer, out: FramerEvent[]): void {
    this.skip(EMPTY, this.errorText('Literal size too large'), true);
    this.skipTail = line.subarray(Math.max(0, line.length - TAIL));
    this.finishSkippedLine(out);
  }

  /** In APPEND, every literal after the mailbox argument is the message (RFC 9051 6.3.12). */
  private isMessageLiteral(line: Buffer, first: boolean): boolean {
    if (this.appendHasMailbox || !first) return true;
    // First line: `tag APPEND <something> {n}` has the mailbox before the literal.
    const text = line.toString('latin1');
    const m = /^[^ ]+ APPEND (.*?)~?\{\d+\+?\}\r?\n$/i.exec(text);
    return m !== null && m[1]!.trim() !== '';
  }

  private onAppendLiteral(line: Buffer, marker: Marker, out: FramerEvent[]): void {
    const head = Buffer.concat([...this.parts, line]);
    this.parts = [];
    this.cmdSize = 0;
    if (this.tag === undefined) {
      this.skip(EMPTY, this.errorText('Invalid tag'));
      this.skipTail = line.subarray(Math.max(0, line.length - TAIL));
      this.finishSkippedLine(out);
      return;
    }
    if (marker.size > this.limits.maxAppendSize) {
      this.skip(EMPTY, this.errorText('Message too large'), true);
      this.skipTail = line.subarray(Math.max(0, line.length - TAIL));
      this.finishSkippedLine(out);
      return;
    }
    out.push({ type: 'append', tag: this.tag, head, size: marker.size, nonSync: marker.nonSync, binary: marker.binary });
    const next: Mode = marker.size > 0 ? { kind: 'append-data', remaining: marker.size } : { kind: 'append-tail' };
    this.mode = marker.nonSync ? next : { kind: 'await', onAccept: next, marker };
  }

  /** The rest of APPEND's line after the message: nothing (MULTIAPPEND/CATENATE are not offered). */
  private onAppendTail(line: Buffer, out: FramerEvent[]): void {
    const text = line.toString('latin1');
    if (text === '\r\n' || text === '\n') {
      out.push({ type: 'append-end', tag: this.tag! });
      this.resetCommand();
      this.mode = LINE;
      return;
    }
    this.skip(EMPTY, this.errorText('Invalid arguments'));
    this.skipTail = line.subarray(Math.max(0, line.length - TAIL));
    this.finishSkippedLine(out);
  }
}
