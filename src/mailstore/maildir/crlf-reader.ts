import { createReadStream } from 'node:fs';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
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

export function openCrlf(file: string, range?: { start: number; end?: number }): Promise<Readable> {
  return new Promise((resolve, reject) => {
    const input = createReadStream(file);
    input.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new NotFound('message is gone') : new TempFailure('cannot read message', err)));
    input.once('open', () => {
      const out = new LfToCrlf(range?.start ?? 0, range?.end ?? Infinity);
      input.pipe(out);
      out.once('end', () => input.destroy());
      out.once('close', () => input.destroy());
      resolve(out);
    });
  });
}
