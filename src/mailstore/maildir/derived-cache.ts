/**
 * `tsmail.cache`: data derived from a folder's (immutable) message files — the IMAP ENVELOPE and
 * BODYSTRUCTURE strings — kept on disk beside tsmail.index, so a big folder is parsed once, not
 * once per session or per restart (Dovecot's dovecot.index.cache). Only the offsets are held in
 * memory (one column of the MessageTable: the newest record of each message), never the strings.
 *
 *   tsmail-cache 1<TAB><uidvalidity>\n
 *   <uid><TAB><prev><TAB><key><TAB><value bytes>\n<value, UTF-8>\n
 *   ...
 *
 * Append-only. `prev` is 1 + the offset of the same message's previous record (0: none), so the
 * records of one message form a chain from its head. A record is trusted only if its header
 * names the UID asked for (a torn write, another process appending, a replaced file: a miss,
 * and the data is derived again). A file of another UIDVALIDITY is emptied. When most of the
 * file belongs to expunged messages it is rewritten with the live records only (compact()).
 * Like tsmail.index it is a cache: deleting it loses nothing; Dovecot ignores it.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { MessageTable } from './message-table.js';

export const CACHE_FILE = 'tsmail.cache';
const MAGIC = 'tsmail-cache 1';
/** Pending records are written once this many bytes are waiting (and at every index write). */
const FLUSH_BYTES = 256 * 1024;
/** Keys are short printable ASCII words (`envelope`, `bodystructure`): they sit in the record header. */
const KEY = /^[\x21-\x7e]{1,64}$/;
const WINDOW = 64 * 1024;
const HEAD_MAX = 200;
/** Compact when the file is over 1 MiB and less than half of it is live. */
const COMPACT_MIN = 1 << 20;

/** What tsmail.index remembers of the cache file so a restart scans only what came after. */
export interface CacheMark {
  ino: number;
  end: number;
  live: number;
}

interface Pending {
  uid: number;
  key: string;
  value: string;
  prev: number;
  /** Bytes of the whole record. */
  size: number;
}
/** A value longer than this is not believed (a damaged length field). */
const MAX_VALUE = 64 << 20;

export class DerivedCache {
  private fd: number | undefined;
  private ino = 0;
  /** Bytes of the file known to be written. */
  private end = 0;
  /** Bytes of records of messages still in the folder (approximate: superseded keys count). */
  private live = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly pendingAt = new Map<number, Pending>();
  private broken = false;

  constructor(
    private readonly dir: string,
    private readonly table: MessageTable,
    private readonly uidValidity: () => number,
    /** Where tsmail.index left off, if it was loaded; heads in the table are then valid up to it. */
    private mark: CacheMark | undefined,
    /** The read-ahead buffer, shared by every folder of the store (see ReadWindow). */
    private readonly win: ReadWindow = new ReadWindow(),
  ) {}

  get(uid: number, key: string): string | undefined {
    const i = this.table.indexOf(uid);
    if (i < 0 || !this.ready()) return undefined;
    let at = this.table.cacheHeads[i]!;
    for (let hops = 0; at > 0 && hops < 64; hops++) {
      const rec = this.recordAt(at - 1);
      if (!rec || rec.uid !== uid) return undefined;
      if (rec.key === key) return rec.value;
      if (rec.prev >= at) return undefined; // chains only point backwards
      at = rec.prev;
    }
    return undefined;
  }

  set(uid: number, key: string, value: string): void {
    const i = this.table.indexOf(uid);
    if (i < 0 || !KEY.test(key) || !this.ready()) return;
    const prev = this.table.cacheHeads[i]!;
    const body = Buffer.from(value, 'utf8');
    const head = Buffer.from(`${uid}\t${prev}\t${key}\t${body.length}\n`);
    const offset = this.end + this.pendingBytes;
    this.pending.push(head, body, NEWLINE);
    const size = head.length + body.length + 1;
    this.pendingBytes += size;
    this.live += size;
    this.pendingAt.set(offset, { uid, key, value, prev, size });
    this.table.cacheHeads[i] = offset + 1;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  /** Writes what is pending; returns where the file stands (for tsmail.index). */
  flush(): CacheMark | undefined {
    if (this.fd === undefined) return this.mark;
    if (this.pendingBytes > 0) {
      try {
        const data = Buffer.concat(this.pending);
        const at = fstatSync(this.fd).size;
        let done = 0;
        while (done < data.length) done += writeSync(this.fd, data, done, data.length - done);
        // Another process appended meanwhile: our offsets are off; reads will miss, not lie.
        this.end = at === this.end ? this.end + data.length : at + data.length;
      } catch {
        this.disable();
        return undefined;
      }
      this.pending = [];
      this.pendingBytes = 0;
      this.pendingAt.clear();
    }
    return { ino: this.ino, end: this.end, live: this.live };
  }

  /** A message left the folder: its records are now dead weight (counted for compaction). */
  dropped(head: number): void {
    let at = head;
    for (let hops = 0; at > 0 && hops < 64 && this.fd !== undefined; hops++) {
      const rec = this.recordAt(at - 1);
      if (!rec || rec.prev >= at) break;
      this.live -= rec.size;
      at = rec.prev;
    }
  }

  needsCompaction(): boolean {
    return this.fd !== undefined && this.end > COMPACT_MIN && this.live * 2 < this.end;
  }

  /** Rewrites the file with the live records only; the table's heads move to the new offsets. */
  compact(): void {
    if (this.fd === undefined) return;
    this.flush();
    const file = path.join(this.dir, CACHE_FILE);
    const tmp = `${file}.${process.pid}.tmp`;
    let out: number | undefined;
    try {
      out = openSync(tmp, 'w', 0o600);
      const header = Buffer.from(`${MAGIC}\t${this.uidValidity()}\n`);
      writeSync(out, header);
      let end = header.length;
      const heads = new Float64Array(this.table.length);
      for (let i = 0; i < this.table.length; i++) {
        const uid = this.table.uids[i]!;
        const seen = new Set<string>();
        const recs: { key: string; value: string }[] = [];
        let at = this.table.cacheHeads[i]!;
        for (let hops = 0; at > 0 && hops < 64; hops++) {
          const rec = this.recordAt(at - 1);
          if (!rec || rec.uid !== uid || rec.prev >= at) break;
          if (!seen.has(rec.key)) recs.push(rec);
          seen.add(rec.key);
          at = rec.prev;
        }
        let prev = 0;
        for (const r of recs.reverse()) {
          const body = Buffer.from(r.value, 'utf8');
          const data = Buffer.concat([Buffer.from(`${uid}\t${prev}\t${r.key}\t${body.length}\n`), body, NEWLINE]);
          writeSync(out, data);
          prev = end + 1;
          end += data.length;
        }
        heads[i] = prev;
      }
      closeSync(out);
      out = undefined;
      renameSync(tmp, file);
      this.dropWindow();
      closeSync(this.fd);
      this.fd = openSync(file, 'a+', 0o600);
      this.ino = fstatSync(this.fd).ino;
      this.end = end;
      this.live = end;
      this.table.cacheHeads.set(heads);
    } catch {
      if (out !== undefined) closeSync(out);
      try {
        unlinkSync(tmp);
      } catch {
        // nothing left behind
      }
    }
  }

  /** UIDVALIDITY changed: every record is void. */
  reset(): void {
    this.table.cacheHeads.fill(0);
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingAt.clear();
    if (this.fd === undefined) return;
    try {
      ftruncateSync(this.fd, 0);
      this.dropWindow();
      const header = Buffer.from(`${MAGIC}\t${this.uidValidity()}\n`);
      writeSync(this.fd, header);
      this.end = header.length;
      this.live = 0;
    } catch {
      this.disable();
    }
  }

  close(): CacheMark | undefined {
    const mark = this.flush();
    this.dropWindow(); // the shared window must not keep this folder alive
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    return mark;
  }

  /** Opens the file on first use: checks its header and reads the records written since `mark`. */
  private ready(): boolean {
    if (this.fd !== undefined) return true;
    if (this.broken || this.uidValidity() === 0) return false;
    try {
      this.fd = openSync(path.join(this.dir, CACHE_FILE), 'a+', 0o600);
      const st = fstatSync(this.fd);
      this.ino = st.ino;
      const header = `${MAGIC}\t${this.uidValidity()}\n`;
      const first = Buffer.alloc(header.length);
      const n = st.size >= header.length ? readSync(this.fd, first, 0, header.length, 0) : 0;
      if (n !== header.length || first.toString('latin1') !== header) {
        this.mark = undefined;
        this.reset();
        return true;
      }
      const m = this.mark;
      const trusted = m !== undefined && m.ino === st.ino && m.end <= st.size && m.end >= header.length;
      if (!trusted) this.table.cacheHeads.fill(0);
      this.end = trusted ? m.end : header.length;
      this.live = trusted ? m.live : 0;
      this.scanFrom(st.size);
      return true;
    } catch {
      this.disable();
      return false;
    }
  }

  /** Reads record headers from `end` to `size`, making each the head of its message. */
  private scanFrom(size: number): void {
    while (this.end < size) {
      const rec = this.recordAt(this.end);
      if (!rec) {
        // A torn last record (crash mid-write): cut it off so appends start clean.
        ftruncateSync(this.fd!, this.end);
        this.dropWindow();
        return;
      }
      const i = this.table.indexOf(rec.uid);
      if (i >= 0) {
        this.table.cacheHeads[i] = this.end + 1;
        this.live += rec.size;
      }
      this.end += rec.size;
    }
  }

  private recordAt(offset: number): Pending | undefined {
    const p = this.pendingAt.get(offset);
    if (p) return p;
    if (offset > this.end) return undefined;
    // Records of consecutive messages lie next to each other: read a window ahead, so a FETCH
    // of a whole folder costs one read() per WINDOW bytes, not one per message.
    const w = this.win;
    let rel = offset - w.at;
    if (w.owner !== this || rel < 0 || rel >= w.len || w.buf.subarray(rel, w.len).indexOf(0x0a) < 0) {
      this.fill(offset);
      rel = 0;
    }
    const nl = w.buf.subarray(rel, w.len).indexOf(0x0a);
    if (nl < 0 || nl > HEAD_MAX) return undefined;
    const f = w.buf.toString('latin1', rel, rel + nl).split('\t');
    if (f.length !== 4) return undefined;
    const uid = Number(f[0]);
    const prev = Number(f[1]);
    const len = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(prev) || !Number.isInteger(len) || len < 0 || len > MAX_VALUE) return undefined;
    const size = nl + 1 + len + 1;
    let body: Buffer;
    if (rel + size <= w.len) body = w.buf.subarray(rel + nl + 1, rel + size);
    else if (size <= WINDOW) {
      this.fill(offset);
      if (size > w.len) return undefined;
      body = w.buf.subarray(nl + 1, size);
    } else {
      body = Buffer.alloc(len + 1);
      if (readSync(this.fd!, body, 0, len + 1, offset + nl + 1) !== len + 1) return undefined;
    }
    if (body[len] !== 0x0a) return undefined;
    return { uid, prev, key: f[2]!, value: body.toString('utf8', 0, len), size };
  }

  private fill(offset: number): void {
    const w = this.win;
    w.owner = this;
    w.at = offset;
    w.len = 0; // in case the read throws
    w.len = readSync(this.fd!, w.buf, 0, WINDOW, offset);
  }

  /** The file changed under the window (truncated, replaced): forget what it holds. */
  private dropWindow(): void {
    if (this.win.owner === this) this.win.owner = undefined;
  }

  private disable(): void {
    this.broken = true;
    this.dropWindow();
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // already gone
      }
    }
    this.fd = undefined;
    this.table.cacheHeads.fill(0);
  }
}

const NEWLINE = Buffer.from('\n');

/**
 * The read-ahead buffer of tsmail.cache reads. One per store, not one per folder: 10,000 folders
 * open in IDLE must not cost 64 KiB each. Reads are synchronous, so sharing is safe; `owner`
 * says whose file the bytes are from.
 */
export class ReadWindow {
  readonly buf = Buffer.alloc(WINDOW);
  owner: unknown;
  at = 0;
  len = 0;
}
