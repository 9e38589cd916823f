/**
 * The one rule for line ends in a message, wherever tsmail takes one in (SMTP/LMTP DATA, and
 * the Maildir writer for everything else): every line ends properly, no line is lost or merged.
 *
 *   CRLF                     → one line end
 *   bare LF                  → one line end
 *   CR…CR LF                 → one line end: CRs right before an LF belong to it. This is what
 *                              Postfix's smtpd does ("We remove bare CR if received before CRLF",
 *                              smtp_stream.c), and Dovecot also serves one line end for it. It is
 *                              how a CRLF text looks after a second LF → CRLF conversion; two line
 *                              ends would put an empty line after the first header field.
 *   lone CR (no LF after it) → one line end, like a bare LF, so that no mail client is handed a
 *                              lone CR (RFC 5322 2.3 allows CR and LF only together). Postfix
 *                              (cleanup_replace_stray_cr_lf) makes it a space, which merges two
 *                              lines; Dovecot keeps it.
 *   CR at the very end       → one line end.
 * Everything else stays byte for byte. Chunks are latin1 strings (one char per byte): V8's native
 * replace and search are several times faster than a byte loop in JavaScript.
 */
export class LineEnds {
  /** CRs at the end of the input so far: whether they end one line or several depends on what follows. */
  private pendingCrs = 0;

  constructor(private readonly eol: '\n' | '\r\n') {}

  /** A CR from an earlier chunk waits for what follows it. */
  get holdsCr(): boolean {
    return this.pendingCrs > 0;
  }

  /** Converts the next chunk; CRs at its end wait for the next one. */
  push(text: string): string {
    let trailing = 0;
    while (trailing < text.length && text.charCodeAt(text.length - 1 - trailing) === 13) trailing++;
    if (trailing === text.length) {
      this.pendingCrs += trailing;
      return '';
    }
    if (this.pendingCrs > 0) text = '\r'.repeat(this.pendingCrs) + text;
    this.pendingCrs = trailing;
    if (trailing > 0) text = text.slice(0, -trailing);
    // From here on every CR in `text` has a character after it.
    return this.eol === '\n' ? toLf(text) : toCrlf(text);
  }

  /** The end of the message: CRs still held back end one line each. */
  end(): string {
    const n = this.pendingCrs;
    this.pendingCrs = 0;
    return this.eol.repeat(n);
  }
}

function toLf(text: string): string {
  const t = text.replaceAll('\r\n', '\n');
  // Anything left is a stray CR: rare, so the usual message pays only for this search.
  return t.indexOf('\r') < 0 ? t : t.replace(/\r+\n/g, '\n').replaceAll('\r', '\n');
}

function toCrlf(text: string): string {
  return isCrlf(text) ? text : text.replace(/\r+\n|\r|\n/g, '\r\n');
}

/** True when every CR is followed by an LF and every LF follows a CR (the usual message). */
export function isCrlf(text: string): boolean {
  for (let i = text.indexOf('\r'); i >= 0; i = text.indexOf('\r', i + 2)) if (text.charCodeAt(i + 1) !== 10) return false;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) if (text.charCodeAt(i - 1) !== 13) return false;
  return true;
}
