/**
 * Dovecot stores messages with LF line ends (mail_save_crlf = no, its default) and presents them
 * with CRLF. So does tsmail: CRLF becomes LF on the way to disk, a lone CR is kept as it is.
 * Counts the bytes written (the file's size, S=) and the LFs in them, which gives the virtual
 * size with CRLF line ends (W=, RFC822.SIZE): size + LF count.
 */
export class LfConverter {
  private pendingCr = false;
  size = 0;
  lines = 0;

  get vsize(): number {
    return this.size + this.lines;
  }

  /** Converts one chunk; a CR at the end of a chunk waits for the next one. */
  push(chunk: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(chunk.length + 1);
    let n = 0;
    if (this.pendingCr) {
      if (chunk[0] !== 0x0a) out[n++] = 0x0d;
      this.pendingCr = false;
    }
    const last = chunk.length - 1;
    for (let i = 0; i <= last; i++) {
      const b = chunk[i]!;
      if (b === 0x0d) {
        if (i === last) {
          this.pendingCr = true;
          continue;
        }
        if (chunk[i + 1] === 0x0a) continue;
      } else if (b === 0x0a) {
        this.lines++;
      }
      out[n++] = b;
    }
    this.size += n;
    return out.subarray(0, n);
  }

  /** The end of the message: a trailing lone CR is data. */
  end(): Buffer {
    if (!this.pendingCr) return Buffer.alloc(0);
    this.pendingCr = false;
    this.size += 1;
    return Buffer.from([0x0d]);
  }
}
