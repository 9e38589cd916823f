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

  /**
   * Converts one chunk; a CR at the end of a chunk waits for the next one. Works on a latin1
   * string (one char per byte) because V8's native replace and search are several times faster
   * than a byte loop in JavaScript (bench/RESULTS.md, SMTP ingest profile).
   */
  push(chunk: Uint8Array): Buffer {
    let text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
    if (this.pendingCr) {
      if (text[0] !== '\n') text = '\r' + text;
      this.pendingCr = false;
    }
    if (text.endsWith('\r')) {
      this.pendingCr = true;
      text = text.slice(0, -1);
    }
    text = text.replaceAll('\r\n', '\n');
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.lines++;
    const out = Buffer.from(text, 'latin1');
    this.size += out.length;
    return out;
  }

  /** The end of the message: a trailing lone CR is data. */
  end(): Buffer {
    if (!this.pendingCr) return Buffer.alloc(0);
    this.pendingCr = false;
    this.size += 1;
    return Buffer.from([0x0d]);
  }
}
