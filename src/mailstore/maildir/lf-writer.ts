/**
 * Dovecot stores messages with LF line ends (mail_save_crlf = no, its default) and presents them
 * with CRLF. So does tsmail, and every stray line end becomes a proper one on the way to disk:
 *
 *   CRLF                     → LF
 *   bare LF                  → LF
 *   lone CR (no LF after it) → LF in the body: a line end, like a bare LF, so that no mail
 *                              client is handed a lone CR (RFC 5322 2.3 allows CR and LF only
 *                              together) and no line is merged into the next. Postfix (>= 3.7.10,
 *                              cleanup_replace_stray_cr_lf = yes) turns it into a space, which
 *                              merges the lines; Dovecot keeps it and serves it as a lone CR.
 *                            → a space in the header section, as Postfix does. The checks that
 *                              run before a message is stored (DMARC's From in mailauth,
 *                              submission's From ownership check, the filter for forged
 *                              Authentication-Results) split header fields at LFs only; a CR that
 *                              became a line end after them would turn "Subject: x<CR>From: boss"
 *                              into a From field no check has seen.
 *   CR…CR LF                 → one LF: CRs right before a line end belong to it. This is what
 *                              Postfix's smtpd does ("We remove bare CR if received before
 *                              CRLF", global/smtp_stream.c smtp_get()), and Dovecot (which keeps
 *                              one CR, stored as CRLF) also serves one line end. CR CR LF is how
 *                              a CRLF text looks after a second LF → CRLF conversion; two line
 *                              ends would put an empty line after every header field, ending the
 *                              header section at its first field.
 *   CR at the very end       → LF. Over SMTP the CRLF before the final dot belongs to the data
 *                              (RFC 5321 4.1.1.4), so a message "ending in CR" arrives as
 *                              CR CR LF (above); only a whole message (IMAP APPEND) can end in a
 *                              lone CR. Dovecot drops it (`doveadm save` of "last\r" stores
 *                              "last"); here it ends the last line, as a final bare LF would
 *                              (in the header section too: no field can follow it).
 *
 * The header section ends at the first empty line of the converted text. The file holds no CR
 * at all, and every LF in it is served as CRLF: the virtual size with CRLF line ends (W=,
 * RFC822.SIZE) is size + LF count, matching crlf-reader.ts byte for byte.
 */
export class LfConverter {
  /** CRs at the end of the input so far: whether they end a line depends on what follows them. */
  private pendingCrs = 0;
  private inHeader = true;
  /** The header written so far is empty or ends in LF: one more LF is the empty line. */
  private atLineStart = true;
  size = 0;
  lines = 0;

  get vsize(): number {
    return this.size + this.lines;
  }

  /**
   * Converts one chunk. Works on a latin1 string (one char per byte) because V8's native replace
   * and search are several times faster than a byte loop in JavaScript (bench/RESULTS.md, SMTP
   * ingest profile); the common message, CRLF throughout, costs one replace and one search for a
   * stray CR per chunk, besides counting its LFs.
   */
  push(chunk: Uint8Array): Buffer {
    let text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
    let trailing = 0;
    while (trailing < text.length && text.charCodeAt(text.length - 1 - trailing) === 0x0d) trailing++;
    if (trailing === text.length) {
      // Nothing but CRs (or nothing): the run goes on, and what ends it decides.
      this.pendingCrs += trailing;
      return Buffer.alloc(0);
    }
    // Held-back CRs are taken up once, by the first chunk that has something after them.
    if (this.pendingCrs > 0) text = '\r'.repeat(this.pendingCrs) + text;
    this.pendingCrs = trailing;
    if (trailing > 0) text = text.slice(0, -trailing);
    // From here on every CR in `text` has a character after it.
    let out: string;
    if (!this.inHeader) {
      out = lineEnds(text, '\n');
    } else {
      const plain = text.replaceAll('\r\n', '\n');
      if (plain.indexOf('\r') < 0) {
        // No stray CR (the usual case): header and body rules agree, only the header's end is needed.
        out = plain;
        if ((this.atLineStart && plain.charCodeAt(0) === 0x0a) || plain.indexOf('\n\n') >= 0) this.inHeader = false;
        else this.atLineStart = plain.charCodeAt(plain.length - 1) === 0x0a;
      } else {
        const { head, body } = this.header(text);
        out = body ? head + lineEnds(body, '\n') : head;
      }
    }
    for (let i = out.indexOf('\n'); i >= 0; i = out.indexOf('\n', i + 1)) this.lines++;
    const buf = Buffer.from(out, 'latin1');
    this.size += buf.length;
    return buf;
  }

  /** The end of the message: CRs still held back end one line each. */
  end(): Buffer {
    const n = this.pendingCrs;
    this.pendingCrs = 0;
    this.size += n;
    this.lines += n;
    return Buffer.alloc(n, 0x0a);
  }

  /** Converts the header part of `text`; `body` is what follows the empty line, still unconverted. */
  private header(text: string): { head: string; body: string } {
    // A header line ends in CR…CR LF (a lone CR there is a space), so the empty line is an LF,
    // then CRs and an LF — or CRs and an LF right at the start of a line.
    const first = this.atLineStart ? /^\r*\n/.exec(text) : null;
    const found = first ?? /\n\r*\n/.exec(text);
    if (!found) {
      // The last character is no CR (held back), so the converted text ends in LF when it does.
      this.atLineStart = text.charCodeAt(text.length - 1) === 0x0a;
      return { head: lineEnds(text, ' '), body: '' };
    }
    this.inHeader = false;
    const end = found.index + found[0].length;
    return { head: lineEnds(text.slice(0, end), ' '), body: text.slice(end) };
  }
}

/** CRLF, CR…CR LF and bare LF to LF; a lone CR to `loneCr`. Every CR in `text` has a character after it. */
function lineEnds(text: string, loneCr: string): string {
  let t = text.replaceAll('\r\n', '\n');
  // Anything left is a stray CR: rare, so the common case pays only for this search.
  if (t.indexOf('\r') >= 0) {
    if (t.indexOf('\r\n') >= 0) t = t.replace(/\r+\n/g, '\n');
    t = t.replaceAll('\r', loneCr);
  }
  return t;
}
