import { closeSync, openSync, readSync } from 'node:fs';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { NotFound, TempFailure } from '../../core/errors.js';

/**
 * Presents a message stored with LF line ends (as Dovecot stores it) with CRLF, as IMAP and
 * POP3 send it; CRLF already in the file stays CRLF. `start`/`end` count bytes of that CRLF
 * form (IMAP partial fetch, RFC 9051 6.4.5 BODY[]<start.length>).
 *
 * Any other CR is passed on as it is. Files tsmail writes hold none (lf-writer.ts), but Dovecot
 * keeps a lone CR it is given, and counts W= (RFC822.SIZE) as size + the LFs that have no CR
 * before them, which is exactly this output's length. Serving such a CR as CRLF would make the
 * body longer than the RFC822.SIZE taken from the file name, and different from what Dovecot
 * served for the same UID before the switch, which clients have cached.
 */
export class LfToCrlf extends Transform {
  private prevCr = false;
  private pos = 0;
  private finished = false;

  constructor(private readonly from = 0, private readonly until = Infinity) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.finished) return done();
    const out = Buffer.allocUnsafe(chunk.length * 2);
    let n = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === 0x0a && !this.prevCr) out[n++] = 0x0d;
      out[n++] = b;
      this.prevCr = b === 0x0d;
    }
    const from = this.pos;
    this.pos += n;
    const lo = Math.max(0, this.from - from);
    const hi = Math.min(n, this.until - from);
    if (hi > lo) this.push(out.subarray(lo, hi));
    if (this.pos >= this.until) {
      this.finished = true;
      this.push(null);
    }
    done();
  }
}

/** File bytes asked for at once: a typical message is read whole in one go. */
const CHUNK = 64 * 1024;

/**
 * A message file as CRLF bytes, `range` counted in that CRLF form.
 *
 * Not createReadStream piped through LfToCrlf: that is three streams, a pipe and an AbortError
 * with a stack trace for every reader that stops early (a header-only search, a header fetch),
 * costing more CPU than reading the file. Here one stream reads one descriptor, and the end of
 * a small file (or of the range) is pushed with its data, so a reader that stops after what it
 * needed finds the stream finished and nothing is torn down with an error.
 *
 * The reads are synchronous, at most CHUNK bytes each, one per _read (so a big message still
 * goes at the pace its reader takes it). An asynchronous open/read/close costs ~150 µs of CPU
 * per message in thread-pool hand-offs against ~10 µs for the same three system calls made
 * directly on a file in the page cache: a FETCH of 50 headers or a header SEARCH of a folder
 * was spending most of its time there. Dovecot reads its mail files the same blocking way.
 */
class CrlfFileReader extends Readable {
  private filePos = 0;
  private outPos = 0;
  private prevCr = false;
  private fd: number | undefined;

  constructor(fd: number, private readonly from: number, private readonly until: number) {
    super({ highWaterMark: CHUNK });
    this.fd = fd;
  }

  override _read(): void {
    // Bytes before the range give no output: read on until something can be pushed.
    for (;;) {
      if (this.fd === undefined) return;
      // Each file byte gives at least one output byte: no need to read past what the range needs.
      const want = Math.max(1, Math.min(CHUNK, this.until - this.outPos));
      const buf = Buffer.allocUnsafe(want);
      let bytesRead: number;
      try {
        bytesRead = readSync(this.fd, buf, 0, want, this.filePos);
      } catch (err) {
        this.destroy(new TempFailure('cannot read message', err));
        return;
      }
      this.filePos += bytesRead;
      const out = this.convert(buf.subarray(0, bytesRead));
      if (out.length > 0) this.push(out);
      if (bytesRead < want || this.outPos >= this.until) {
        this.closeFd();
        this.push(null);
        return;
      }
      if (out.length > 0) return;
    }
  }

  /** LF → CRLF, cut to the range. */
  private convert(chunk: Buffer): Buffer {
    let extra = 0;
    const prev = this.prevCr;
    for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) {
      if (!(i > 0 ? chunk[i - 1] === 0x0d : prev)) extra++;
    }
    let out = chunk;
    if (extra > 0) {
      // Copies the runs between bare LFs (native copies, not a JS loop over every byte).
      out = Buffer.allocUnsafe(chunk.length + extra);
      let n = 0;
      let from = 0;
      for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) {
        if (i > 0 ? chunk[i - 1] === 0x0d : prev) continue;
        n += chunk.copy(out, n, from, i);
        out[n++] = 0x0d;
        from = i;
      }
      chunk.copy(out, n, from);
    }
    if (chunk.length > 0) this.prevCr = chunk[chunk.length - 1] === 0x0d;
    const from = this.outPos;
    this.outPos += out.length;
    const lo = Math.max(0, this.from - from);
    const hi = Math.min(out.length, this.until - from);
    return hi > lo ? out.subarray(lo, hi) : Buffer.alloc(0);
  }

  private closeFd(): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // Nothing to do about a failed close of a file only read.
      }
    }
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.closeFd();
    done(err);
  }
}

export async function openCrlf(file: string, range?: { start: number; end?: number }): Promise<Readable> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw (err as NodeJS.ErrnoException).code === 'ENOENT' ? new NotFound('message is gone') : new TempFailure('cannot read message', err);
  }
  return new CrlfFileReader(fd, range?.start ?? 0, range?.end ?? Infinity);
}
