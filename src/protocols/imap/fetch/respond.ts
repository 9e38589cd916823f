/**
 * One `* <seq> FETCH (...)` response (RFC 9051 7.5.2), yielded in pieces so message bodies are
 * streamed from the store as literals and never held whole.
 *
 * Item order is Dovecot's (imap-fetch.c): the small "buffered" items (UID, FLAGS, INTERNALDATE,
 * RFC822.SIZE, MODSEQ) first, in the order asked, then everything else in the order asked;
 * an item asked twice is answered once. The session puts UID first for UID FETCH and appends
 * FLAGS when a body fetch set \Seen, as Dovecot does.
 */
import { NotFound } from '../../../core/errors.js';
import type { Folder, MessageMeta } from '../../../mailstore/types.js';
import { imapDate } from '../encoder.js';
import type { BodySection, FetchItem } from '../types.js';
import { cacheKey, MessageView, type CachedItem } from './message-view.js';
import { stopReading } from './mime-tree.js';
import { applyPartial, filterHeader, sectionName, sectionSource, type ByteRange } from './sections.js';

export interface RenderOptions {
  /** UTF8=ACCEPT / IMAP4rev2 UTF-8 (reserved: FETCH output does not change with it today). */
  utf8: boolean;
  /**
   * Add MODSEQ when not asked for: CHANGEDSINCE (RFC 7162 3.1.4.1) and unsolicited flag
   * updates. Dovecot does not add it to a plain FETCH merely because CONDSTORE is enabled.
   */
  includeModseq: boolean;
  /**
   * The last item is a FLAGS the session added because the fetch set \Seen: Dovecot writes
   * the implicit MODSEQ before it (`RFC822.SIZE 277 MODSEQ (2) FLAGS (\Seen)`).
   */
  implicitFlags?: boolean;
}

const BUFFERED = new Set<FetchItem['kind']>(['UID', 'FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'MODSEQ']);

/** Dovecot's order of system flags (imap-util.c imap_write_flags); keywords follow as stored. */
const SYSTEM_ORDER = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft', '\\Recent'];

function flagsText(flags: readonly string[], recent: boolean): string {
  const all = recent ? [...flags, '\\Recent'] : [...flags];
  const system = SYSTEM_ORDER.filter((f) => all.some((g) => g.toLowerCase() === f.toLowerCase()));
  const keywords = all.filter((f) => !f.startsWith('\\'));
  return `(${[...system, ...keywords].join(' ')})`;
}

/** Repeats of an item are answered once, except body sections: Dovecot sends each again. */
function itemKey(item: FetchItem, index: number): string {
  return item.kind === 'BODY[]' || item.kind === 'BINARY[]' || item.kind === 'BINARY.SIZE' ? `#${index}` : item.kind;
}

function ordered(items: readonly FetchItem[], opts: RenderOptions): FetchItem[] {
  const seen = new Set<string>();
  const unique: FetchItem[] = [];
  let all = items;
  if (opts.includeModseq && !items.some((i) => i.kind === 'MODSEQ')) {
    const at = opts.implicitFlags && items[items.length - 1]?.kind === 'FLAGS' ? items.length - 1 : items.length;
    all = [...items.slice(0, at), { kind: 'MODSEQ' }, ...items.slice(at)];
  }
  for (const [index, item] of all.entries()) {
    const key = itemKey(item, index);
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(item);
  }
  return [...unique.filter((i) => BUFFERED.has(i.kind)), ...unique.filter((i) => !BUFFERED.has(i.kind))];
}

const WHOLE: BodySection = { part: [], peek: true };

/** The section an item is, and the name the response gives it. */
function asSection(item: FetchItem): { section: BodySection; name: string } | undefined {
  switch (item.kind) {
    case 'RFC822':
      return { section: WHOLE, name: 'RFC822' };
    case 'RFC822.HEADER':
      return { section: { part: [], specifier: 'HEADER', peek: true }, name: 'RFC822.HEADER' };
    case 'RFC822.TEXT':
      return { section: { part: [], specifier: 'TEXT', peek: true }, name: 'RFC822.TEXT' };
    case 'BODY[]':
      return { section: item.section, name: sectionName(item.section) };
    default:
      return undefined;
  }
}

/** BINARY is not advertised (RFC 3516 comes with the IMAP extensions issue): not answered. */
function isAnswered(item: FetchItem): boolean {
  return item.kind !== 'BINARY[]' && item.kind !== 'BINARY.SIZE';
}

/** Dovecot serves a NUL byte in a message as 0x80 (istream-nonuls): clients choke on NUL. */
function withoutNul(b: Buffer): Buffer {
  if (!b.includes(0)) return b;
  const copy = Buffer.from(b);
  for (let i = copy.indexOf(0); i >= 0; i = copy.indexOf(0, i + 1)) copy[i] = 0x80;
  return copy;
}

/** Where a literal's bytes come from once its length is known. */
type Body = { kind: 'range'; range: ByteRange } | { kind: 'bytes'; data: Buffer };

/** An item ready to write: text, or a literal's name and source. */
type Piece = { kind: 'text'; text: Buffer } | { kind: 'literal'; name: string; body: Body };

/**
 * Writes `range` of the message. The literal's length is already sent, so a read that fails or
 * comes up short (the file went away under us) is padded to that length to keep the connection
 * in step; the error is handed back to be thrown once the response is complete.
 */
async function* streamRange(folder: Folder, uid: number, range: ByteRange, failed: { error?: unknown }): AsyncGenerator<Buffer> {
  const length = range.end - range.start;
  let sent = 0;
  if (length > 0) {
    try {
      const source = await folder.read(uid, range);
      for await (const chunk of source) {
        const b = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : (chunk as Buffer);
        const piece = withoutNul(b.subarray(0, length - sent));
        sent += piece.length;
        if (piece.length > 0) yield piece;
        if (sent >= length) {
          stopReading(source);
          break;
        }
      }
    } catch (err) {
      failed.error ??= err;
    }
  }
  if (sent < length) {
    failed.error ??= new NotFound(`message ${uid} ended early`);
    yield Buffer.alloc(length - sent, 0x20);
  }
}

async function readRange(folder: Folder, uid: number, range: ByteRange): Promise<Buffer> {
  const failed: { error?: unknown } = {};
  const chunks: Buffer[] = [];
  for await (const c of streamRange(folder, uid, range, failed)) chunks.push(c);
  if (failed.error !== undefined) throw failed.error;
  return Buffer.concat(chunks);
}

/** What a section is, worked out before anything is written (so a vanished file fails cleanly). */
async function sectionPiece(folder: Folder, view: MessageView, uid: number, size: number, item: { section: BodySection; name: string }): Promise<Piece> {
  const s = item.section;
  const literal = (body: Body): Piece => ({ kind: 'literal', name: item.name, body });
  if (s.part.length === 0 && s.specifier === undefined) {
    // The whole message needs no parsing.
    return literal({ kind: 'range', range: applyPartial(size, s.partial) });
  }
  const source = sectionSource(await view.nodes(), s);
  if (source.kind === 'empty') return literal({ kind: 'bytes', data: Buffer.alloc(0) });
  if (source.kind === 'header-fields') {
    const data = filterHeader(await readRange(folder, uid, source.header), source);
    const r = applyPartial(data.length, s.partial);
    return literal({ kind: 'bytes', data: data.subarray(r.start, r.end) });
  }
  const sub = applyPartial(source.range.end - source.range.start, s.partial);
  return literal({ kind: 'range', range: { start: source.range.start + sub.start, end: source.range.start + sub.end } });
}

/** Everything but literal contents, in response order; throws NotFound if the message is gone. */
async function plan(folder: Folder, uid: number, meta: MessageMeta, list: readonly FetchItem[]): Promise<Piece[]> {
  const view = new MessageView(folder, uid);
  const text = (s: string | Buffer): Piece => ({ kind: 'text', text: typeof s === 'string' ? Buffer.from(s) : s });
  const pieces: Piece[] = [];
  for (const item of list) {
    switch (item.kind) {
      case 'UID':
        pieces.push(text(`UID ${uid}`));
        break;
      case 'FLAGS': {
        const now = folder.meta(uid);
        if (!now) throw new NotFound(`message ${uid} is gone`);
        pieces.push(text(`FLAGS ${flagsText(now.flags, folder.isRecent(uid))}`));
        break;
      }
      case 'INTERNALDATE':
        pieces.push(text(`INTERNALDATE ${imapDate(meta.internalDate)}`));
        break;
      case 'RFC822.SIZE':
        pieces.push(text(`RFC822.SIZE ${meta.size}`));
        break;
      case 'MODSEQ':
        pieces.push(text(`MODSEQ (${(folder.meta(uid) ?? meta).modseq})`));
        break;
      case 'ENVELOPE':
      case 'BODY':
      case 'BODYSTRUCTURE':
        pieces.push(text(Buffer.concat([Buffer.from(`${item.kind} `), await view.item(item.kind.toLowerCase() as CachedItem)])));
        break;
      default:
        if (isAnswered(item)) pieces.push(await sectionPiece(folder, view, uid, meta.size, asSection(item)!));
    }
  }
  return pieces;
}

/** Items `renderSmall` may answer: no file read (UID, FLAGS, ...) or cached strings (ENVELOPE, BODY, BODYSTRUCTURE). */
const SMALL = new Set<FetchItem['kind']>([...BUFFERED, 'ENVELOPE', 'BODY', 'BODYSTRUCTURE']);

/** Whether `renderSmall` can answer these items (for ENVELOPE/BODY/BODYSTRUCTURE: when cached). */
export function allSmall(items: readonly FetchItem[]): boolean {
  return items.every((i) => SMALL.has(i.kind));
}

/**
 * The response for items that pass `allSmall`, at once as one buffer (FETCH 1:* (UID FLAGS) or
 * a re-fetch of ENVELOPE over a 100,000-message folder: no generator, pieces or MessageView per
 * message). Undefined when the message has left the folder; null when an ENVELOPE, BODY or
 * BODYSTRUCTURE is not cached yet (renderFetch then computes it). Same order and bytes as
 * renderFetch.
 */
export function renderSmall(folder: Folder, seq: number, uid: number, items: readonly FetchItem[], opts: RenderOptions): Buffer | null | undefined {
  return smallRenderer(items, opts)(folder, seq, uid);
}

/** renderSmall with the item order worked out once for a whole FETCH. */
export function smallRenderer(items: readonly FetchItem[], opts: RenderOptions): (folder: Folder, seq: number, uid: number) => Buffer | null | undefined {
  const list = ordered(items, opts);
  return (folder, seq, uid) => renderSmallOrdered(folder, seq, uid, list);
}

function renderSmallOrdered(folder: Folder, seq: number, uid: number, list: readonly FetchItem[]): Buffer | null | undefined {
  const meta = folder.meta(uid);
  if (!meta) return undefined;
  // latin1 throughout: cached strings are bytes as latin1 (message-view.ts); the rest is ASCII.
  let out = `* ${seq} FETCH (`;
  let first = true;
  for (const item of list) {
    if (!first) out += ' ';
    first = false;
    switch (item.kind) {
      case 'UID':
        out += `UID ${uid}`;
        break;
      case 'FLAGS':
        out += `FLAGS ${flagsText(meta.flags, folder.isRecent(uid))}`;
        break;
      case 'INTERNALDATE':
        out += `INTERNALDATE ${imapDate(meta.internalDate)}`;
        break;
      case 'RFC822.SIZE':
        out += `RFC822.SIZE ${meta.size}`;
        break;
      case 'MODSEQ':
        out += `MODSEQ (${meta.modseq})`;
        break;
      case 'ENVELOPE':
      case 'BODY':
      case 'BODYSTRUCTURE': {
        const cached = folder.cacheGet(uid, cacheKey(item.kind.toLowerCase() as CachedItem));
        if (cached === undefined) return null;
        out += `${item.kind} ${cached}`;
        break;
      }
      default:
        throw new Error(`not a small item: ${item.kind}`);
    }
  }
  return Buffer.from(out + ')\r\n', 'latin1');
}

/**
 * The complete response for message `uid` (sequence number `seq`). Yields nothing when the
 * message has left the folder (or its file is gone) before it started. If the file goes away
 * while a literal is being sent, the literal is padded to its announced length, the response
 * completed, and then the error thrown (the session decides what to tell the client).
 */
export async function* renderFetch(folder: Folder, seq: number, uid: number, items: readonly FetchItem[], opts: RenderOptions): AsyncGenerator<Buffer> {
  const meta = folder.meta(uid);
  if (!meta) return;
  const pieces = await plan(folder, uid, meta, ordered(items, opts));
  const failed: { error?: unknown } = {};
  yield Buffer.from(`* ${seq} FETCH (`);
  for (const [i, piece] of pieces.entries()) {
    if (i > 0) yield Buffer.from(' ');
    if (piece.kind === 'text') {
      yield piece.text;
      continue;
    }
    const body = piece.body;
    const length = body.kind === 'bytes' ? body.data.length : body.range.end - body.range.start;
    yield Buffer.from(`${piece.name} {${length}}\r\n`);
    if (body.kind === 'bytes') yield body.data;
    else yield* streamRange(folder, uid, body.range, failed);
  }
  yield Buffer.from(')\r\n');
  if (failed.error !== undefined) throw failed.error;
}
