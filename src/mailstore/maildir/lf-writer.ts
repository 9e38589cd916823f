/**
 * Dovecot stores messages with LF line ends (mail_save_crlf = no, its default) and presents them
 * with CRLF. So does tsmail, and every stray line end becomes a proper one on the way to disk, by
 * the one rule of core/line-ends.ts: CRLF, bare LF, CR…CR LF and a lone CR each end one line.
 * The file then holds no CR at all, and every LF in it is served as CRLF (crlf-reader.ts): the
 * virtual size with CRLF line ends (W=, RFC822.SIZE) is size + LF count, byte for byte what IMAP
 * and POP3 serve.
 */
import { LineEnds } from '../../core/line-ends.js';

export class LfConverter {
  private readonly ends = new LineEnds('\n');
  size = 0;
  lines = 0;

  get vsize(): number {
    return this.size + this.lines;
  }

  /** Converts one chunk; CRs at its end wait for the next one (they may be part of a CRLF). */
  push(chunk: Uint8Array): Buffer {
    return this.count(this.ends.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1')));
  }

  /** The end of the message: CRs still held back end one line each. */
  end(): Buffer {
    return this.count(this.ends.end());
  }

  private count(out: string): Buffer {
    for (let i = out.indexOf('\n'); i >= 0; i = out.indexOf('\n', i + 1)) this.lines++;
    const buf = Buffer.from(out, 'latin1');
    this.size += buf.length;
    return buf;
  }
}
