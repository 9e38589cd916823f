/**
 * The in-process state of one Maildir folder, shared by every session that has it open:
 * UID ↔ file, flags, sizes, internal dates and modification sequences.
 *
 * The Maildir stays the truth (design.md): file names carry the flags, dovecot-uidlist the UIDs,
 * dovecot-keywords the keyword letters. sync() reconciles this state with the disk, so files that
 * other processes (Dovecot, an MDA, rsync) add, rename or remove show up as new messages, flag
 * changes and expunges. UIDs are only ever assigned under dovecot-uidlist.lock, so tsmail and a
 * Dovecot running beside it never hand out the same UID.
 */
import { readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { TempFailure } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { compareMaildirNames, parseMaildirName, withInfo } from './filename.js';
import { emptyKeywordTable, parseKeywords, type KeywordTable } from './keywords-file.js';
import type { MessageMeta } from '../types.js';
import { lettersToImapFlags } from './flag-codec.js';
import { FolderWatch } from './folder-watch.js';
import { modseqFloor, readIndex, writeIndex } from './index-cache.js';
import { nextUidValidity } from './uidvalidity.js';
import { cleanTmp, scanFolder, signatureOf, type ScannedFile } from './scan.js';
import { effectiveNextUid, newMailboxGuid, serializeUidlist, type Uidlist, type UidlistRecord } from './uidlist.js';
import { UIDLIST_FILE, withUidlistLock } from './uidlist-lock.js';
import { fileSignature, readUidlist } from './uidlist-io.js';

export const KEYWORDS_FILE = 'dovecot-keywords';

export interface FolderEntry {
  uid: number;
  base: string;
  sub: 'new' | 'cur';
  file: string;
  /** Flag characters as in the file name (system letters and keyword letters). */
  flags: string;
  size: number;
  vsize: number;
  mtimeMs: number;
  modseq: bigint;
  /** The protocol view of this entry, kept while modseq and the keyword table are unchanged. */
  meta?: { value: MessageMeta; modseq: bigint; keywords: number };
}

export interface StateChange {
  added: number[];
  flagged: number[];
  expunged: number[];
}

/** Looks for changes other processes make to a folder (folder-watch.ts). */
export interface ChangeWatcher {
  start(): void;
  stop(): void;
}

export interface FolderStateDeps {
  log: Logger;
  now?: () => number;
  /** The watcher of one folder; default: inotify plus a periodic rescan (FolderWatch). */
  watch?: (dir: string, onChange: () => void) => ChangeWatcher;
}

/** Dovecot rewrites dovecot-uidlist without stale records once fewer than 75% still exist. */
const COMPRESS_RATIO = 0.75;
const STAT_BATCH = 64;

export class FolderState {
  private entries: FolderEntry[] = [];
  private readonly byBase = new Map<string, FolderEntry>();
  private readonly byUid = new Map<number, FolderEntry>();
  /** Bases this process saw expunged: if one reappears it gets a new UID (RFC 9051 2.3.1.1). */
  private readonly gone = new Set<string>();
  /** UIDs moved out of new/ that no session has claimed as \Recent yet. */
  private readonly unclaimedRecent = new Set<number>();
  private readonly listeners = new Set<(change: StateChange) => void>();
  private queue: Promise<unknown> = Promise.resolve();
  private signature = '';
  /** When `signature` was taken (wall clock, as the directory mtimes in it). */
  private signatureAt = 0;
  private uidlistSig = '';
  private keywordsSig = '';
  private loaded = false;
  private watch: ChangeWatcher | undefined;
  private indexTimer: NodeJS.Timeout | undefined;
  uidValidity = 0;
  uidNext = 1;
  highestModseq = 1n;
  keywords: KeywordTable = emptyKeywordTable();
  /** Bumped whenever `keywords` is replaced, so cached flag lists are rebuilt. */
  keywordsVersion = 0;

  constructor(readonly dir: string, private readonly deps: FolderStateDeps) {}

  get messages(): readonly FolderEntry[] {
    return this.entries;
  }

  setKeywords(table: KeywordTable): void {
    this.keywords = table;
    this.keywordsVersion++;
  }

  /** The message as protocols see it; cached per entry since a big folder is listed often. */
  meta(e: FolderEntry): MessageMeta {
    const c = e.meta;
    if (c && c.modseq === e.modseq && c.keywords === this.keywordsVersion) return c.value;
    const value: MessageMeta = { uid: e.uid, flags: lettersToImapFlags(e.flags, this.keywords), internalDate: new Date(e.mtimeMs), size: e.vsize, modseq: e.modseq };
    e.meta = { value, modseq: e.modseq, keywords: this.keywordsVersion };
    return value;
  }

  /**
   * Derived per-message data (IMAP ENVELOPE/BODYSTRUCTURE); in memory for now, dropped with the
   * entry. TODO(issue 11): persist with the index.
   */
  private readonly derived = new Map<number, Map<string, string>>();

  cacheGet(uid: number, key: string): string | undefined {
    return this.derived.get(uid)?.get(key);
  }

  cacheSet(uid: number, key: string, value: string): void {
    if (!this.byUid.has(uid)) return;
    let m = this.derived.get(uid);
    if (!m) this.derived.set(uid, (m = new Map()));
    m.set(key, value);
  }

  entry(uid: number): FolderEntry | undefined {
    return this.byUid.get(uid);
  }

  path(e: FolderEntry): string {
    return path.join(this.dir, e.sub, e.file);
  }

  /**
   * Listens for changes from any source; while anyone listens, one shared watcher looks for
   * changes made by other processes and syncs when it sees one.
   */
  onChange(listener: (change: StateChange) => void): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) {
      const onChange = () => {
        this.sync().catch((err: unknown) => this.deps.log.warn({ dir: this.dir, err: (err as Error).message }, 'background sync failed'));
      };
      this.watch ??= this.deps.watch?.(this.dir, onChange) ?? new FolderWatch(this.dir, onChange);
      this.watch.start();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.watch?.stop();
    };
  }

  /** Takes the \Recent messages nobody has seen yet (the first session to look gets them). */
  claimRecent(): number[] {
    const uids = [...this.unclaimedRecent];
    this.unclaimedRecent.clear();
    return uids;
  }

  /** Runs `fn` with this folder's state to itself (in this process); every mutation goes here. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  sync(): Promise<StateChange> {
    return this.exclusive(() => this.syncLocked());
  }

  /**
   * Flag change of one message: renames its file to the flags `change` computes from the
   * current ones. If another process renamed it meanwhile (Dovecot, another tsmail), the folder
   * is re-read and `change` applied to the flags found then, so neither change is lost.
   * Returns false when nothing changed or the message is gone.
   */
  async renameFlags(e: FolderEntry, change: (current: string) => string): Promise<boolean> {
    // Dovecot retries such a lost race up to 10 times too (maildir_file_do).
    for (let attempt = 0; attempt < 10; attempt++) {
      const flags = change(e.flags);
      if (flags === e.flags && e.sub === 'cur') return false;
      const file = withInfo(e.base, flags);
      try {
        await rename(this.path(e), path.join(this.dir, 'cur', file));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new TempFailure(`cannot change flags in ${this.dir}`, err);
        await this.syncLocked();
        if (this.byBase.get(e.base) !== e) return false; // expunged meanwhile
        continue;
      }
      e.sub = 'cur';
      e.file = file;
      e.flags = flags;
      e.modseq = ++this.highestModseq;
      this.scheduleIndexWrite();
      return true;
    }
    throw new TempFailure(`flags of a message in ${this.dir} keep changing; try again`);
  }

  /** Removes messages; returns the UIDs actually removed (others were already gone). */
  async unlinkEntries(uids: readonly number[]): Promise<number[]> {
    const removed: number[] = [];
    for (const uid of uids) {
      const e = this.byUid.get(uid);
      if (!e) continue;
      try {
        await unlink(this.path(e));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new TempFailure(`cannot expunge from ${this.dir}`, err);
        // already renamed or removed by another process: the next sync sorts it out
        const again = await scanFolder(this.dir);
        const f = again.files.get(e.base);
        if (f) {
          await unlink(path.join(this.dir, f.sub, f.file)).catch(() => {});
        }
      }
      this.forget(e);
      removed.push(uid);
    }
    if (removed.length) {
      this.highestModseq++;
      this.scheduleIndexWrite();
    }
    return removed;
  }

  /** Notifies other sessions of changes made through this process. */
  emit(change: StateChange): void {
    if (!change.added.length && !change.flagged.length && !change.expunged.length) return;
    for (const l of this.listeners) l(change);
  }

  /**
   * Gives UIDs to files already placed in cur/ by this process (APPEND, COPY): under the lock,
   * in the order given. Returns their UIDs.
   */
  registerSaved(files: readonly { file: string; mtimeMs: number }[]): Promise<number[]> {
    return this.exclusive(async () => {
      if (!this.loaded) await this.syncLocked();
      const bases = files.map((f) => parseMaildirName(f.file).base);
      const uidOf = await this.assignUids(bases, true);
      for (const f of files) {
        const n = parseMaildirName(f.file);
        const uid = uidOf.get(n.base)!;
        if (this.byUid.has(uid)) continue; // a concurrent sync already picked it up
        this.insert({
          uid, base: n.base, sub: 'cur', file: f.file, flags: n.flags, size: n.size ?? 0, vsize: n.vsize ?? n.size ?? 0,
          mtimeMs: f.mtimeMs, modseq: ++this.highestModseq,
        });
      }
      // this.signature stays as the last full listing left it: the next sync lists the folder
      // again, so a file another process added meanwhile cannot hide behind our own change.
      this.scheduleIndexWrite();
      return bases.map((b) => uidOf.get(b)!);
    });
  }

  private async syncLocked(): Promise<StateChange> {
    const change: StateChange = { added: [], flagged: [], expunged: [] };
    const [sig, uidlistSig, keywordsSig] = await Promise.all([
      signatureOf(this.dir),
      fileSignature(path.join(this.dir, UIDLIST_FILE)),
      fileSignature(path.join(this.dir, KEYWORDS_FILE)),
    ]);
    if (keywordsSig !== this.keywordsSig) {
      const text = await readFile(path.join(this.dir, KEYWORDS_FILE)).catch(() => Buffer.alloc(0));
      this.setKeywords(parseKeywords(text).table);
      this.keywordsSig = keywordsSig;
    }
    if (this.loaded && sig === this.signature && uidlistSig === this.uidlistSig) return change;
    if (!this.loaded) {
      void cleanTmp(this.dir, this.deps.now?.() ?? Date.now()).catch(() => {});
      if (await this.loadIndex(sig, uidlistSig)) return change;
    }

    const scan = await scanFolder(this.dir);
    for (const e of [...this.entries]) {
      const f = scan.files.get(e.base);
      if (!f) {
        this.forget(e);
        change.expunged.push(e.uid);
      } else if (f.file !== e.file || f.sub !== e.sub) {
        const flagsChanged = f.flags !== e.flags;
        e.sub = f.sub;
        e.file = f.file;
        e.flags = f.flags;
        if (flagsChanged) {
          e.modseq = ++this.highestModseq;
          change.flagged.push(e.uid);
        }
      }
    }
    if (change.expunged.length) this.highestModseq++;

    const unknown = [...scan.files.keys()].filter((b) => !this.byBase.has(b));
    if (unknown.length || !this.loaded) {
      const uidOf = await this.assignUids(unknown, false);
      const fresh = await this.describe(unknown.map((b) => [b, scan.files.get(b)!, uidOf.get(b)!] as const));
      for (const e of fresh) {
        this.insert(e);
        change.added.push(e.uid);
      }
      await this.moveNewToCur(fresh);
    } else if (uidlistSig !== this.uidlistSig) {
      // Only the uidlist changed (e.g. another process appended): refresh header values.
      const list = await readUidlist(this.dir, this.deps.log);
      if (list) this.adoptHeader(list);
    }
    // What was listed, not what is there now: a change made after the listing (by us moving
    // new/ to cur/, or by anyone else) makes the next sync list again.
    this.signature = scan.signature;
    this.signatureAt = Date.now();
    this.uidlistSig = uidlistSig;
    this.loaded = true;
    this.emit(change);
    this.scheduleIndexWrite();
    return change;
  }

  /**
   * First open in this process: start from tsmail.index. When neither the folder nor
   * dovecot-uidlist changed since it was written, it is the whole state (no listing, no stat);
   * otherwise its entries spare the stat() of every file that is still there.
   */
  private async loadIndex(sig: string, uidlistSig: string): Promise<boolean> {
    const snap = await readIndex(this.dir);
    if (!snap) {
      this.highestModseq = modseqFloor(this.deps.now?.() ?? Date.now());
      return false;
    }
    this.uidValidity = snap.uidValidity;
    this.uidNext = snap.uidNext;
    this.highestModseq = snap.highestModseq;
    for (const e of snap.entries) this.insert(e);
    if (snap.dirSignature !== sig || snap.uidlistSignature !== uidlistSig) return false;
    this.signature = sig;
    this.uidlistSig = uidlistSig;
    this.loaded = true;
    return true;
  }

  /** Coalesces index writes: at most one per second per folder, off the request path. */
  private scheduleIndexWrite(): void {
    if (this.indexTimer) return;
    this.indexTimer = setTimeout(() => {
      this.indexTimer = undefined;
      void this.writeIndexNow();
    }, 1000);
    this.indexTimer.unref();
  }

  /**
   * Writes tsmail.index now (also what a clean shutdown calls). Takes a snapshot and writes it
   * outside the folder's queue, so sessions are not held up by a big folder's index.
   */
  async writeIndexNow(): Promise<void> {
    if (!this.loaded) return;
    // The signatures of the last full listing, not the current ones: entries match those, and
    // anything changed since makes the next cold open list the folder again.
    await writeIndex(this.dir, {
      uidValidity: this.uidValidity, uidNext: this.uidNext, highestModseq: this.highestModseq,
      dirSignature: settled(this.signature, this.signatureAt) ? this.signature : 'unsettled', uidlistSignature: this.uidlistSig, entries: this.entries.slice(),
    });
  }

  /**
   * UIDs for `bases`: the ones dovecot-uidlist already has, the rest assigned under the lock in
   * Dovecot's order (maildir_filename_sort_cmp) unless `keepOrder` (APPEND order matters).
   */
  private async assignUids(bases: readonly string[], keepOrder: boolean): Promise<Map<string, number>> {
    const uidOf = new Map<string, number>();
    const known = await readUidlist(this.dir, this.deps.log);
    if (known) this.takeFrom(known, bases, uidOf);
    if (known && uidOf.size === bases.length) return uidOf;
    await withUidlistLock(this.dir, async (lock) => {
      let list = await readUidlist(this.dir, this.deps.log);
      let rewrite = false;
      if (!list) {
        list = { version: 3, uidValidity: await this.freshUidValidity(), nextUid: 1, guid: newMailboxGuid(), headerExt: [], records: [] };
        rewrite = true;
      }
      uidOf.clear();
      this.takeFrom(list, bases, uidOf);
      const missing = bases.filter((b) => !uidOf.has(b));
      const ordered = keepOrder ? missing : [...missing].sort(compareMaildirNames);
      let next = effectiveNextUid(list);
      const reborn = new Set(ordered.filter((b) => this.gone.has(b)));
      const records: UidlistRecord[] = list.records.filter((r) => !reborn.has(r.base));
      for (const base of ordered) {
        uidOf.set(base, next);
        records.push({ uid: next++, ext: [], base });
        this.gone.delete(base);
      }
      // Records of files that no longer exist are dropped only after a listing made under the
      // lock: a file another process just saved (and will register next) must keep its record.
      let kept = records;
      const known = new Set([...this.byBase.keys(), ...bases]);
      if (records.filter((r) => known.has(r.base)).length < records.length * COMPRESS_RATIO) {
        const onDisk = (await scanFolder(this.dir)).files;
        const live = records.filter((r) => onDisk.has(r.base) || bases.includes(r.base));
        if (live.length < records.length * COMPRESS_RATIO) kept = live;
      }
      const compact = kept !== records;
      const updated: Uidlist = { ...list, version: 3, nextUid: next, records: kept };
      if (ordered.length || rewrite || compact || list.version !== 3) await lock.commit(serializeUidlist(updated));
      this.adoptHeader(updated);
    });
    return uidOf;
  }

  private takeFrom(list: Uidlist, bases: readonly string[], uidOf: Map<string, number>): void {
    const want = new Set(bases.filter((b) => !this.gone.has(b)));
    for (const r of list.records) if (want.has(r.base)) uidOf.set(r.base, r.uid);
    this.adoptHeader(list);
  }

  private adoptHeader(list: Uidlist): void {
    if (this.uidValidity !== 0 && list.uidValidity !== this.uidValidity) {
      // A new UIDVALIDITY (uidlist deleted/recreated): every UID we knew is void.
      this.deps.log.warn({ dir: this.dir, old: this.uidValidity, new: list.uidValidity }, 'UIDVALIDITY changed');
      for (const e of [...this.entries]) this.forget(e);
    }
    this.uidValidity = list.uidValidity;
    this.uidNext = Math.max(this.uidNext, effectiveNextUid(list));
  }

  /** Dovecot's shared counter in the mail root (folders are `.Name` directories under it). */
  private async freshUidValidity(): Promise<number> {
    const root = path.basename(this.dir).startsWith('.') ? path.dirname(this.dir) : this.dir;
    const next = await nextUidValidity(root, Math.floor((this.deps.now?.() ?? Date.now()) / 1000));
    return Math.max(next, this.uidValidity + 1);
  }

  /** Sizes and internal dates of newly seen files (from the name where Dovecot put them there). */
  private async describe(items: readonly (readonly [string, ScannedFile, number])[]): Promise<FolderEntry[]> {
    const out: FolderEntry[] = [];
    for (let i = 0; i < items.length; i += STAT_BATCH) {
      const batch = await Promise.all(items.slice(i, i + STAT_BATCH).map(async ([base, f, uid]) => {
        const file = path.join(this.dir, f.sub, f.file);
        const st = await stat(file).catch(() => undefined);
        if (!st) return undefined; // vanished since the scan: the next sync reports nothing for it
        const size = f.size ?? st.size;
        const vsize = f.vsize ?? (await virtualSize(file));
        return { uid, base, sub: f.sub, file: f.file, flags: f.flags, size, vsize, mtimeMs: st.mtimeMs, modseq: ++this.highestModseq };
      }));
      for (const e of batch) if (e) out.push(e);
    }
    return out;
  }

  /** Dovecot moves what a session has seen from new/ to cur/; those messages are \Recent once. */
  private async moveNewToCur(entries: readonly FolderEntry[]): Promise<void> {
    for (const e of entries) {
      if (e.sub !== 'new') continue;
      const file = withInfo(e.base, e.flags);
      try {
        await rename(this.path(e), path.join(this.dir, 'cur', file));
        e.sub = 'cur';
        e.file = file;
        this.unclaimedRecent.add(e.uid);
      } catch {
        // moved or removed by another process meanwhile: the next sync sees where it went
      }
    }
  }

  private insert(e: FolderEntry): void {
    this.byBase.set(e.base, e);
    this.byUid.set(e.uid, e);
    const last = this.entries[this.entries.length - 1];
    if (!last || last.uid < e.uid) this.entries.push(e);
    else {
      const at = this.entries.findIndex((x) => x.uid > e.uid);
      this.entries.splice(at, 0, e);
    }
    if (e.uid >= this.uidNext) this.uidNext = e.uid + 1;
  }

  private forget(e: FolderEntry): void {
    this.byBase.delete(e.base);
    this.byUid.delete(e.uid);
    this.derived.delete(e.uid);
    this.unclaimedRecent.delete(e.uid);
    this.gone.add(e.base);
    const at = this.entries.indexOf(e);
    if (at >= 0) this.entries.splice(at, 1);
  }
}

/**
 * Whether a listing's signature can vouch for the directories staying unchanged: a directory's
 * mtime only moves once per clock tick of the kernel (a few ms), so a change made in the same
 * tick as the listing leaves the same signature behind. As Dovecot does (MAILDIR_SYNC_SECS), a
 * directory changed within the last seconds before the listing is not trusted to be unchanged.
 */
const SETTLE_NS = 2_000_000_000n;

function settled(signature: string, takenAtMs: number): boolean {
  const taken = BigInt(Math.floor(takenAtMs)) * 1_000_000n;
  for (const part of signature.split('/')) {
    const m = /:(\d+)$/.exec(part);
    if (m && BigInt(m[1]!) > taken - SETTLE_NS) return false;
  }
  return true;
}

/** RFC822.SIZE of a file without W=: its size plus one CR for every LF. */
async function virtualSize(file: string): Promise<number> {
  const data = await readFile(file).catch(() => Buffer.alloc(0));
  let lf = 0;
  for (let i = data.indexOf(0x0a); i >= 0; i = data.indexOf(0x0a, i + 1)) if (data[i - 1] !== 0x0d) lf++;
  return data.length + lf;
}
