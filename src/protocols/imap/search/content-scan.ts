/**
 * Reads one message for the content keys of a search. With only header keys (and SENT* dates)
 * just the top-level header block is read. BODY/TEXT stream the whole message through the MIME
 * walker (mime-walk.ts), decoding each part on the fly, so a 30 MB attachment is never held
 * whole, and stop reading as soon as every BODY/TEXT key has matched.
 *
 * What is searched follows Dovecot's message_search: BODY looks at the decoded bodies of parts
 * whose Content-Type is text/* or message/* (or missing), never at headers; TEXT adds every
 * part's header lines (`Name: decoded value` CRLF). A match never spans two MIME parts.
 */
import type { Readable } from 'node:stream';
import { normalizeAddresses } from './address.js';
import { BodyDecoder } from './body-decode.js';
import type { ContentLeaf, HeaderLeaf, ScanState, TextLeaf } from './content-keys.js';
import { searchFold } from './fold.js';
import type { PartType } from './content-type.js';
import { parseHeaderBlock, type HeaderField } from './header-block.js';
import { compressLwsp, decodeHeaderValue } from './header-decode.js';
import { MimeWalker } from './mime-walk.js';
import { parseSentDate } from './sent-date.js';

/** Header blocks larger than this are cut (Dovecot too gives up on absurd headers). */
const MAX_HEADER = 1024 * 1024;

export class ContentScanner {
  private readonly headers: HeaderLeaf[];
  private readonly body: TextLeaf[];
  private readonly text: TextLeaf[];
  private readonly wantSent: boolean;

  constructor(leaves: readonly ContentLeaf[]) {
    this.headers = leaves.filter((l): l is HeaderLeaf => l.kind === 'header');
    this.body = leaves.filter((l): l is TextLeaf => l.kind === 'body');
    this.text = leaves.filter((l): l is TextLeaf => l.kind === 'text');
    this.wantSent = leaves.some((l) => l.kind === 'sent');
  }

  async scan(open: () => Promise<Readable>, st: ScanState): Promise<void> {
    st.sent = 0;
    const src = await open();
    try {
      if (this.body.length === 0 && this.text.length === 0) await this.headerOnly(src, st);
      else await this.whole(src, st);
    } finally {
      src.destroy();
    }
  }

  private async headerOnly(src: Readable, st: ScanState): Promise<void> {
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of src as AsyncIterable<Buffer>) {
      parts.push(chunk);
      const from = Math.max(0, size - 3);
      size += chunk.length;
      const all = parts.length === 1 ? chunk : Buffer.concat(parts);
      const end = all.indexOf('\r\n\r\n', from);
      if (end >= 0) {
        src.destroy(); // before leaving the loop, which would destroy it with a costly AbortError
        this.topHeaders(parseHeaderBlock(all.subarray(0, end + 2)), st);
        return;
      }
      if (parts.length > 1) parts.splice(0, parts.length, all);
      if (size > MAX_HEADER) break;
    }
    this.topHeaders(parseHeaderBlock(Buffer.concat(parts)), st);
  }

  private topHeaders(fields: readonly HeaderField[], st: ScanState): void {
    let sentSeen = false;
    for (const f of fields) {
      if (f.bare) continue;
      const name = f.name.toLowerCase();
      if (this.wantSent && !sentSeen && name === 'date') {
        sentSeen = true;
        st.sent = parseSentDate(f.value) ?? 0;
      }
      for (const h of this.headers) {
        if (h.matched || h.field !== name) continue;
        if (!h.finder) {
          h.matched = true;
          continue;
        }
        const raw = h.mode === 'address' ? normalizeAddresses(f.value) : h.mode === 'subject' ? compressLwsp(f.value) : f.value;
        h.finder.resetContext();
        if (h.finder.feed(decodeHeaderValue(raw))) h.matched = true;
      }
    }
  }

  private pendingText(): boolean {
    return this.body.some((l) => !l.finder.found) || this.text.some((l) => !l.finder.found);
  }

  private async whole(src: Readable, st: ScanState): Promise<void> {
    let decoder: BodyDecoder | null = null;
    let rootSeen = false;
    const feedBody = (text: string): void => {
      if (text === '') return;
      const folded = searchFold(text); // once for all keys
      for (const l of this.body) l.finder.feedFolded(folded);
      for (const l of this.text) l.finder.feedFolded(folded);
    };
    const walker = new MimeWalker({
      part: (fields, type, depth) => {
        if (decoder) feedBody(decoder.end());
        // Dovecot's str_find_reset() at every part change: no match spans two parts.
        for (const l of this.body) l.finder.resetContext();
        for (const l of this.text) l.finder.resetContext();
        if (depth === 0 && !rootSeen) this.topHeaders(fields, st);
        rootSeen = true;
        if (this.text.length > 0) {
          for (const f of fields) {
            const line = searchFold(`${f.name}${f.middle}${decodeHeaderValue(f.value)}\r\n`);
            for (const l of this.text) l.finder.feedFolded(line);
          }
        }
        decoder = textish(type) ? new BodyDecoder(type.encoding, type.charset) : null;
      },
      body: (chunk) => {
        if (decoder) feedBody(decoder.write(chunk));
      },
    });
    const lf = new LfOnly();
    for await (const chunk of src as AsyncIterable<Buffer>) {
      walker.push(lf.convert(chunk));
      if (rootSeen && !this.pendingText()) {
        // Not by leaving the loop alone: that destroys with an AbortError (a costly stack).
        src.destroy();
        return;
      }
    }
    walker.push(lf.convert(Buffer.alloc(0), true));
    walker.end();
    if (!rootSeen) this.topHeaders([], st);
    if (decoder) feedBody((decoder as BodyDecoder).end());
  }
}

/**
 * The store serves CRLF line ends, but Dovecot searches the file as stored, which in a Maildir
 * (Dovecot's or tsmail's) has LF line ends: turn CRLF back into LF so that a key spanning a
 * line break matches as it does there.
 */
class LfOnly {
  private cr = false;

  convert(chunk: Buffer, final = false): Buffer {
    const out = Buffer.allocUnsafe(chunk.length + 1);
    let n = 0;
    let pos = 0;
    if (this.cr) {
      this.cr = false;
      if (chunk[0] !== 0x0a) out[n++] = 0x0d;
    }
    for (;;) {
      const cr = chunk.indexOf(0x0d, pos);
      if (cr < 0) {
        n += chunk.copy(out, n, pos);
        break;
      }
      n += chunk.copy(out, n, pos, cr);
      if (cr + 1 === chunk.length) {
        if (final) out[n++] = 0x0d;
        else this.cr = true;
        break;
      }
      if (chunk[cr + 1] !== 0x0a) out[n++] = 0x0d;
      pos = cr + 1;
    }
    return out.subarray(0, n);
  }
}

/** Dovecot searches parts whose Content-Type is text/* or message/*, or that have none. */
function textish(t: PartType): boolean {
  if (!t.present) return true;
  return t.type.startsWith('text/') || t.type.startsWith('message/');
}
