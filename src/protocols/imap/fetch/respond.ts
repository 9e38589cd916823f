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
import type { Folder } from '../../../mailstore/types.js';
import { imapDate } from '../encoder.js';
import type { BodySection, FetchItem } from '../types.js';
import { MessageView } from './message-view.js';
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

async function* streamRange(folder: Folder, uid: number, range: ByteRange): AsyncGenerator<Buffer> {
  const length = range.end - range.start;
  let sent = 0;
  if (length > 0) {
    for await (const chunk of await folder.read(uid, range)) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : (chunk as Buffer);
      const piece = withoutNul(b.subarray(0, length - sent));
      sent += piece.length;
      if (piece.length > 0) yield piece;
      if (sent >= length) break;
    }
  }
  // The literal's length is already sent: a file that shrank under us must not desync the
  // connection (Dovecot would disconnect; padding keeps other commands working).
  if (sent < length) yield Buffer.alloc(length - sent, 0x20);
}

async function* section(folder: Folder, view: MessageView, uid: number, size: number, item: { section: BodySection; name: string }): AsyncGenerator<Buffer> {
  const s = item.section;
  if (s.part.length === 0 && s.specifier === undefined) {
    // The whole message needs no parsing.
    const r = applyPartial(size, s.partial);
    yield Buffer.from(`${item.name} {${r.end - r.start}}\r\n`);
    yield* streamRange(folder, uid, r);
    return;
  }
  const source = sectionSource(await view.nodes(), s);
  if (source.kind === 'empty') {
    yield Buffer.from(`${item.name} {0}\r\n`);
    return;
  }
  if (source.kind === 'header-fields') {
    const header = await readRange(folder, uid, source.header);
    const data = filterHeader(header, source);
    const r = applyPartial(data.length, s.partial);
    yield Buffer.from(`${item.name} {${r.end - r.start}}\r\n`);
    yield data.subarray(r.start, r.end);
    return;
  }
  const sub = applyPartial(source.range.end - source.range.start, s.partial);
  yield Buffer.from(`${item.name} {${sub.end - sub.start}}\r\n`);
  yield* streamRange(folder, uid, { start: source.range.start + sub.start, end: source.range.start + sub.end });
}

async function readRange(folder: Folder, uid: number, range: ByteRange): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of streamRange(folder, uid, range)) chunks.push(c);
  return Buffer.concat(chunks);
}

/**
 * The complete response for message `uid` (sequence number `seq`). Yields nothing when the
 * message has left the folder before it started; throws NotFound if it goes away midway.
 */
export async function* renderFetch(folder: Folder, seq: number, uid: number, items: readonly FetchItem[], opts: RenderOptions): AsyncGenerator<Buffer> {
  const meta = folder.meta(uid);
  if (!meta) return;
  const view = new MessageView(folder, uid);
  const list = ordered(items, opts);
  yield Buffer.from(`* ${seq} FETCH (`);
  let first = true;
  for (const item of list) {
    const sep: string = first ? '' : ' ';
    if (!isAnswered(item)) continue;
    first = false;
    switch (item.kind) {
      case 'UID':
        yield Buffer.from(`${sep}UID ${uid}`);
        break;
      case 'FLAGS': {
        const now = folder.meta(uid);
        if (!now) throw new NotFound(`message ${uid} is gone`);
        yield Buffer.from(`${sep}FLAGS ${flagsText(now.flags, folder.isRecent(uid))}`);
        break;
      }
      case 'INTERNALDATE':
        yield Buffer.from(`${sep}INTERNALDATE ${imapDate(meta.internalDate)}`);
        break;
      case 'RFC822.SIZE':
        yield Buffer.from(`${sep}RFC822.SIZE ${meta.size}`);
        break;
      case 'MODSEQ':
        yield Buffer.from(`${sep}MODSEQ (${(folder.meta(uid) ?? meta).modseq})`);
        break;
      case 'ENVELOPE':
        yield Buffer.concat([Buffer.from(`${sep}ENVELOPE `), await view.item('envelope')]);
        break;
      case 'BODY':
        yield Buffer.concat([Buffer.from(`${sep}BODY `), await view.item('body')]);
        break;
      case 'BODYSTRUCTURE':
        yield Buffer.concat([Buffer.from(`${sep}BODYSTRUCTURE `), await view.item('bodystructure')]);
        break;
      default: {
        const s = asSection(item)!;
        if (sep) yield Buffer.from(sep);
        yield* section(folder, view, uid, meta.size, s);
      }
    }
  }
  yield Buffer.from(')\r\n');
}
