/**
 * `tsmail.index`: tsmail's own cache of one folder, next to dovecot-uidlist. It makes opening a
 * big folder after a restart cheap (no stat() per message) and keeps CONDSTORE mod-sequences
 * across restarts. It is only a cache: the Maildir files stay the truth, and a missing, stale or
 * damaged index is simply rebuilt (Dovecot ignores the file).
 *
 *   tsmail-index 2<TAB><uidvalidity><TAB><uidnext><TAB><highestmodseq><TAB><dir signature><TAB><uidlist signature><TAB><cache ino><TAB><cache end><TAB><cache live bytes>
 *   <uid><TAB><new|cur><TAB><file><TAB><size><TAB><vsize><TAB><mtime ms><TAB><modseq><TAB><cache head>
 *   ...
 *
 * The cache fields say how far tsmail.cache (derived-cache.ts) was written when the index was,
 * and `cache head` is 1 + the offset of the message's newest record there (0: none). Files of
 * version 1 (no cache fields, a separate base column) are ignored: the folder is listed again.
 *
 * Written to a temp file and renamed (readers see the old or the new one); not fsynced, since a
 * lost update only costs a rescan — except that mod-sequences must never go backwards, which the
 * loader guarantees by starting from the current time when it has no index (see below).
 */
import { readFile, rename, writeFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { CacheMark } from './derived-cache.js';
import { MessageTable } from './message-table.js';

export const INDEX_FILE = 'tsmail.index';
const MAGIC = 'tsmail-index 2';
const SLICE = 5000;

export interface IndexHeader {
  uidValidity: number;
  uidNext: number;
  highestModseq: bigint;
  /** signatureOf(dir) and the dovecot-uidlist signature when the snapshot was taken. */
  dirSignature: string;
  uidlistSignature: string;
  cache: CacheMark | undefined;
}

/** A copy of the columns to write, taken at one moment (the table goes on changing meanwhile). */
export interface IndexSnapshot extends IndexHeader {
  uids: Uint32Array;
  subs: ('new' | 'cur')[];
  files: string[];
  sizes: Float64Array;
  vsizes: Float64Array;
  mtimes: Float64Array;
  modseqs: BigUint64Array;
  cacheHeads: Float64Array;
}

export function snapshotOf(table: MessageTable, header: IndexHeader): IndexSnapshot {
  const n = table.length;
  const subs: ('new' | 'cur')[] = new Array(n);
  const files: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    subs[i] = table.sub(i);
    files[i] = table.file(i);
  }
  return {
    ...header, subs, files, uids: table.uids.slice(0, n), sizes: table.sizes.slice(0, n), vsizes: table.vsizes.slice(0, n),
    mtimes: table.mtimes.slice(0, n), modseqs: table.modseqs.slice(0, n), cacheHeads: table.cacheHeads.slice(0, n),
  };
}

/** Reads the index into `table` (which must be empty); undefined (table left empty) if unusable. */
export async function readIndex(dir: string, table: MessageTable): Promise<IndexHeader | undefined> {
  let buf: Buffer;
  try {
    buf = await readFile(path.join(dir, INDEX_FILE));
  } catch {
    return undefined;
  }
  try {
    const header = parse(buf, table);
    if (!header) table.clear();
    else table.shrink();
    return header;
  } catch {
    table.clear();
    return undefined; // a damaged number (BigInt throws): rebuild
  }
}

function parse(buf: Buffer, table: MessageTable): IndexHeader | undefined {
  let nl = buf.indexOf(0x0a);
  if (nl < 0) return undefined;
  const [magic, validity, next, modseq, dirSig, uidlistSig, ino, end, live] = buf.toString('utf8', 0, nl).split('\t');
  if (magic !== MAGIC || !validity || !next || !modseq || dirSig === undefined || uidlistSig === undefined || live === undefined) return undefined;
  const cache: CacheMark | undefined = Number(ino) > 0 ? { ino: Number(ino), end: Number(end), live: Number(live) } : undefined;
  let lines = 0;
  for (let i = buf.indexOf(0x0a, nl + 1); i >= 0; i = buf.indexOf(0x0a, i + 1)) lines++;
  table.reserve(lines);
  let prev = 0;
  const f: number[] = new Array(9);
  for (let start = nl + 1; start < buf.length; start = nl + 1) {
    nl = buf.indexOf(0x0a, start);
    if (nl < 0) nl = buf.length;
    if (nl === start) continue;
    // field boundaries: f[k] = start of field k, f[8] = end of line
    let k = 0;
    f[k++] = start;
    for (let j = start; j < nl && k < 9; j++) if (buf[j] === 0x09) f[k++] = j + 1;
    if (k !== 8) return undefined;
    f[8] = nl + 1;
    // Numbers straight from the bytes: no string, array or closure per field (a 100,000-line
    // index is read at every first SELECT of the folder).
    const num = (n: number) => {
      const d = digits(buf, f[n]!, f[n + 1]! - 1);
      if (d >= 0) return d;
      // Not plain digits (an mtime with a fraction): as Number() reads it, -1 if not a number.
      const x = Number(buf.toString('latin1', f[n]!, f[n + 1]! - 1));
      return Number.isFinite(x) && x >= 0 ? x : -1;
    };
    const uid = num(0);
    const sub = subAt(buf, f[1]!, f[2]! - 1);
    if (!(uid > prev) || !Number.isInteger(uid) || sub === undefined) return undefined;
    prev = uid;
    // Base and file name straight from the buffer: each its own string (a slice of one would
    // keep the whole name, or the whole file, alive).
    const colon = buf.indexOf(0x3a, f[2]!);
    const fileEnd = f[3]! - 1;
    const file = buf.toString('utf8', f[2]!, fileEnd);
    const base = colon >= 0 && colon < fileEnd ? buf.toString('utf8', f[2]!, colon) : file;
    const size = num(3);
    const vsize = num(4);
    const mtimeMs = num(5);
    const head = num(7);
    const small = num(6);
    if (size < 0 || vsize < 0 || mtimeMs < 0 || head < 0) return undefined;
    // A modseq past 2^53 (never in practice) or not plain digits goes through BigInt's own parser.
    const modseq = Number.isSafeInteger(small) && small >= 0 ? BigInt(small) : BigInt(buf.toString('latin1', f[6]!, f[7]! - 1));
    const i = table.insert({ uid, base, sub, file, size, vsize, mtimeMs, modseq });
    table.cacheHeads[i] = head;
  }
  return { uidValidity: Number(validity), uidNext: Number(next), highestModseq: BigInt(modseq), dirSignature: dirSig, uidlistSignature: uidlistSig, cache };
}

/**
 * The decimal number in buf[from, to), or -1 when it is not plain digits (empty, a sign, a
 * fraction). Past 2^53 the value is not exact: the modseq is then read again as BigInt.
 */
function digits(buf: Buffer, from: number, to: number): number {
  if (to <= from || to - from > 20) return -1;
  let n = 0;
  for (let j = from; j < to; j++) {
    const c = buf[j]! - 0x30;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

function subAt(buf: Buffer, from: number, to: number): 'new' | 'cur' | undefined {
  if (to - from !== 3) return undefined;
  const s = buf.toString('latin1', from, to);
  return s === 'new' || s === 'cur' ? s : undefined;
}

export async function writeIndex(dir: string, snap: IndexSnapshot): Promise<void> {
  const c = snap.cache;
  const head = [MAGIC, snap.uidValidity, snap.uidNext, snap.highestModseq, snap.dirSignature, snap.uidlistSignature, c?.ino ?? 0, c?.end ?? 0, c?.live ?? 0].join('\t');
  const parts = [head + '\n'];
  // In slices, yielding between them: a 100,000-message folder must not stall other sessions.
  for (let s = 0; s < snap.uids.length; s += SLICE) {
    let text = '';
    for (let i = s; i < Math.min(s + SLICE, snap.uids.length); i++) {
      text += `${snap.uids[i]}\t${snap.subs[i]}\t${snap.files[i]}\t${snap.sizes[i]}\t${snap.vsizes[i]}\t${snap.mtimes[i]}\t${snap.modseqs[i]}\t${snap.cacheHeads[i]}\n`;
    }
    parts.push(text);
    await new Promise((r) => setImmediate(r));
  }
  const file = path.join(dir, INDEX_FILE);
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFile(tmp, parts.join(''), { mode: 0o600 });
    await rename(tmp, file);
  } catch {
    await unlink(tmp).catch(() => {});
    // a cache that cannot be written only makes the next cold open slower
  }
}

/**
 * Where mod-sequences start without an index: the current time in microseconds, so a lost or
 * deleted index can never make HIGHESTMODSEQ go backwards for a CONDSTORE client (RFC 7162 3.1.1
 * requires it to increase); clients then simply see every message as changed.
 */
export function modseqFloor(nowMs: number): bigint {
  return BigInt(Math.floor(nowMs)) * 1000n;
}
