/**
 * Reads one message for the content keys of a search. With only header keys (and SENT* dates)
 * just the top-level header block is read. BODY/TEXT stream the whole message through a MIME
 * splitter, decoding each part on the fly, so a 30 MB attachment is never held whole, and stop
 * reading as soon as every BODY/TEXT key has matched.
 *
 * What is searched follows Dovecot's message_search: BODY looks at the decoded bodies of parts
 * whose Content-Type is text/* or message/* (or missing), never at headers; TEXT adds every
 * part's header lines (`Name: decoded value` CRLF). A match never spans two MIME parts.
 */
import { once } from 'node:events';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { Splitter } from '@zone-eu/mailsplit';
import { normalizeAddresses } from './address.js';
import { BodyDecoder } from './body-decode.js';
import type { ContentLeaf, HeaderLeaf, ScanState, TextLeaf } from './content-keys.js';
import { parseHeaderBlock, type HeaderField } from './header-block.js';
import { compressLwsp, decodeHeaderValue } from './header-decode.js';
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
    const splitter = newSplitter();
    src.on('error', (err) => splitter.destroy(err));
    src.pipe(new LfOnly()).pipe(splitter);
    await this.consume(splitter, st, true);
  }

  /**
   * Walks one message's MIME events. A message/rfc822 part that the splitter left whole (it does
   * not descend into one with `Content-Disposition: attachment`, Dovecot does) is fed to a
   * splitter of its own, consumed by a nested walk before the next part of this one.
   */
  private async consume(splitter: Splitter, st: ScanState, top: boolean): Promise<void> {
    let decoder: BodyDecoder | null = null;
    let inner: { splitter: Splitter; done: Promise<void> } | null = null;
    let root = top;
    const feedBody = (s: string): void => {
      if (s === '') return;
      for (const l of this.body) l.finder.feed(s);
      for (const l of this.text) l.finder.feed(s);
    };
    const closeInner = async (): Promise<void> => {
      if (!inner) return;
      const i = inner;
      inner = null;
      if (!i.splitter.destroyed) i.splitter.end();
      await i.done;
    };
    try {
      for await (const ev of splitter as AsyncIterable<SplitEvent>) {
        if (ev.type === 'node') {
          if (decoder) feedBody(decoder.end());
          decoder = null;
          await closeInner();
          if (!root && !this.pendingText()) return;
          for (const l of this.body) l.finder.resetContext();
          for (const l of this.text) l.finder.resetContext();
          const fields = parseHeaderBlock(ev.getHeaders());
          if (root) this.topHeaders(fields, st);
          root = false;
          for (const f of fields) {
            const line = `${f.name}${f.middle}${decodeHeaderValue(f.value)}\r\n`;
            for (const l of this.text) l.finder.feed(line);
          }
          if (ev.contentType === 'message/rfc822' && ev.messageNode === false) {
            // Dovecot parses it as a message even when it is base64 (then nothing in it is found).
            const s = newSplitter();
            inner = { splitter: s, done: this.consume(s, st, false) };
          } else if (!ev.multipart && textish(ev.contentType)) decoder = new BodyDecoder(ev.encoding || undefined, ev.charset || undefined);
        } else if (ev.type === 'body') {
          if (inner) {
            if (!inner.splitter.destroyed && !inner.splitter.write(ev.value)) await Promise.race([once(inner.splitter, 'drain'), inner.done]);
          } else if (decoder) feedBody(decoder.write(ev.value));
        }
        if (!root && !this.pendingText()) return;
      }
      if (decoder) feedBody(decoder.end());
      await closeInner();
    } catch {
      // A message the splitter cannot read (absurd header block): what was found stands.
    } finally {
      if (inner) inner.splitter.destroy();
      splitter.destroy();
    }
  }
}

function newSplitter(): Splitter {
  return new Splitter({ defaultInlineEmbedded: true, maxHeadSize: MAX_HEADER });
}

/**
 * The store serves CRLF line ends, but Dovecot searches the file as stored, which in a Maildir
 * (Dovecot's or tsmail's) has LF line ends: turn CRLF back into LF so that a key spanning a
 * line break matches as it does there.
 */
class LfOnly extends Transform {
  private cr = false;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let s = chunk.toString('latin1');
    if (this.cr) s = '\r' + s;
    this.cr = s.endsWith('\r');
    if (this.cr) s = s.slice(0, -1);
    done(null, Buffer.from(s.replace(/\r\n/g, '\n'), 'latin1'));
  }

  override _flush(done: TransformCallback): void {
    done(null, this.cr ? Buffer.from('\r') : null);
  }
}

type SplitEvent =
  | { type: 'node'; getHeaders(): Buffer; multipart: string | false; contentType: string | false; encoding: string | false; charset: string | false; messageNode?: boolean }
  | { type: 'body' | 'data'; value: Buffer };

/** Dovecot searches parts whose Content-Type is text/* or message/*, or that have none. */
function textish(contentType: string | false): boolean {
  if (!contentType) return true;
  const t = contentType.toLowerCase();
  return t.startsWith('text/') || t.startsWith('message/');
}
