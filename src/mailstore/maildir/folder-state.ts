/**
 * The in-process state of one Maildir folder, shared by every session that has it open:
 * UID ↔ file, flags, sizes, internal dates and modification sequences.
 *
 * The Maildir stays the truth (design.md): file names carry the flags, dovecot-uidlist the UIDs,
 * dovecot-keywords the keyword letters. sync() reconciles this state with the disk, so files that
 * other processes (Dovecot, an MDA, rsync) add, rename or remove show up as new messages, flag
 * changes and expunges. UIDs are only ever assigned under dovecot-uidlist.lock, so tsmail and a
 * Dovecot running beside it never hand out the same UID.
 *
 * Per-message state is columnar (message-table.ts, ~120 bytes a message) and MessageMeta objects
 * are built on demand; derived data (ENVELOPE, BODYSTRUCTURE) lives in tsmail.cache
 * (derived-cache.ts), the rest is saved in tsmail.index (index-cache.ts) so a restart is cheap.
 */
import { readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { TempFailure } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { compareMaildirNames, parseMaildirName, withInfo } from './filename.js';
import { emptyKeywordTable, parseKeywords, type KeywordTable } from './keywords-file.js';
import type { FolderStatus, MessageMeta } from '../types.js';
import { DerivedCache, type CacheMark, type ReadWindow } from './derived-cache.js';
import { FolderWatch } from './folder-watch.js';
import { modseqFloor, readIndex, snapshotOf, writeIndex } from './index-cache.js';
import { BIT_SEEN, MessageTable, type MessageRecord } from './message-table.js';
import { nextUidValidity } from './uidvalidity.js';
import { cleanTmp, scanFolder, signatureNow, signatureOf, type ScannedFile } from './scan.js';
import { effectiveNextUid, newMailboxGuid, serializeUidlist, type Uidlist, type UidlistRecord } from './uidlist.js';
import { UIDLIST_FILE, withUidlistLock } from './uidlist-lock.js';
import { fileSignature, readUidlist } from './uidlist-io.js';

export const KEYWORDS_FILE = 'dovecot-keywords';

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
  /** tsmail.cache's read-ahead buffer, shared by the store's folders (default: one of its own). */
  readWindow?: ReadWindow;
}

/** What copy and expunge need of one message, taken at one moment. */
export interface MessageFile {
  uid: number;
  path: string;
  flags: string;
  size: number;
  vsize: number;
  mtimeMs: number;
}

/** Dovecot rewrites dovecot-uidlist without stale records once fewer than 75% still exist. */
const COMPRESS_RATIO = 0.75;
const STAT_BATCH = 64;

export class FolderState {
  /** Every message, in UID order, as columns (message-table.ts). */
  readonly table = new MessageTable();
  /** Bases this process saw expunged: if one reappears it gets a new UID (RFC 9051 2.3.1.1). */
  private readonly gone = new Set<string>();
  /** UIDs moved out of new/ that no session has claimed as \Recent yet. */
  private readonly unclaimedRecent = new Set<number>();
  private readonly listeners = new Set<(change: StateChange) => void>();
  private queue: Promise<unknown> = Promise.resolve();
  private signature = '';
  /** When `signature` was taken (wall clock, as the directory mtimes in it). */
  private signatureAt = 0;
  /**
   * Set while `signature` may hide a change another process made in the same moment as one of
   * ours (or in the same clock tick as the listing): the folder is listed again once the
   * directories have settled (recheck()).
   */
  private recheckTimer: NodeJS.Timeout | undefined;
  private uidlistSig = '';
  /** The signature of the dovecot-uidlist this process last wrote (assignUids). */
  private ownUidlistSig: string | undefined;
  private keywordsSig = '';
  private loaded = false;
  private watch: ChangeWatcher | undefined;
  private indexTimer: NodeJS.Timeout | undefined;
  private indexWrite: Promise<void> = Promise.resolve();
  private derived: DerivedCache | undefined;
  private cacheMark: CacheMark | undefined;
  uidValidity = 0;
  uidNext = 1;
  highestModseq = 1n;
  keywords: KeywordTable = emptyKeywordTable();
  /** Bumped on every change to the messages (added, removed, flags), so views can skip a diff. */
  version = 0;

  constructor(readonly dir: string, private readonly deps: FolderStateDeps) {}

  get count(): number {
    return this.table.length;
  }

  setKeywords(table: KeywordTable): void {
    this.keywords = table;
    this.version++;
  }

  /** The message as protocols see it, built on demand (nothing per message is kept). */
  meta(uid: number): MessageMeta | undefined {
    const t = this.table;
    const i = t.indexOf(uid);
    if (i < 0) return undefined;
    return { uid, flags: t.imapFlags(i, this.keywords), internalDate: new Date(t.mtimes[i]!), size: t.vsizes[i]!, modseq: t.modseqs[i]! };
  }

  /** Where message `uid` is now and what copy/expunge need of it; undefined once it is gone. */
  file(uid: number): MessageFile | undefined {
    const t = this.table;
    const i = t.indexOf(uid);
    if (i < 0) return undefined;
    return { uid, path: path.join(this.dir, t.sub(i), t.file(i)), flags: t.flags(i), size: t.sizes[i]!, vsize: t.vsizes[i]!, mtimeMs: t.mtimes[i]! };
  }

  /**
   * Derived per-message data (IMAP ENVELOPE/BODYSTRUCTURE), in tsmail.cache (derived-cache.ts):
   * shared by every session, kept across restarts, only offsets in memory.
   */
  cacheGet(uid: number, key: string): string | undefined {
    return this.cache()?.get(uid, key);
  }

  cacheSet(uid: number, key: string, value: string): void {
    // No index write for this: a restart finds records past the index's mark by reading on
    // from there (derived-cache.ts), and releasing the folder writes the index anyway.
    this.cache()?.set(uid, key, value);
  }

  private cache(): DerivedCache | undefined {
    if (!this.loaded) return undefined;
    this.derived ??= new DerivedCache(this.dir, this.table, () => this.uidValidity, this.cacheMark, this.deps.readWindow);
    return this.derived;
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

  /** Whether a watcher is running (someone listens): for tests and metrics. */
  get watching(): boolean {
    return this.listeners.size > 0;
  }

  /** Folder status; `recent` is the caller's (\Recent is per session). */
  status(recent: number): FolderStatus {
    const t = this.table;
    let unseen = 0;
    let size = 0;
    for (let i = 0; i < t.length; i++) {
      if (!(t.sys[i]! & BIT_SEEN)) unseen++;
      size += t.vsizes[i]!;
    }
    return { messages: t.length, recent, unseen, uidNext: this.uidNext, uidValidity: this.uidValidity, highestModseq: this.highestModseq, size };
  }

  /** Messages that are \Recent and not yet given to any session (STATUS RECENT, which takes none). */
  get unclaimedRecentCount(): number {
    return this.unclaimedRecent.size;
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
  async renameFlags(uid: number, change: (current: string) => string): Promise<boolean> {
    const t = this.table;
    // Dovecot retries such a lost race up to 10 times too (maildir_file_do).
    for (let attempt = 0; attempt < 10; attempt++) {
      let i = t.indexOf(uid);
      if (i < 0) return false;
      const current = t.flags(i);
      const flags = change(current);
      if (flags === current && t.sub(i) === 'cur') return false;
      const base = t.bases[i]!;
      const file = withInfo(base, flags);
      const mark = this.mark();
      try {
        await rename(path.join(this.dir, t.sub(i), t.file(i)), path.join(this.dir, 'cur', file));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new TempFailure(`cannot change flags in ${this.dir}`, err);
        await this.syncLocked(true);
        continue; // expunged meanwhile: indexOf() says so next round
      }
      this.adopt(mark);
      i = t.indexOf(uid);
      if (i < 0) return false;
      t.setFile(i, 'cur', file);
      t.modseqs[i] = ++this.highestModseq;
      this.version++;
      this.scheduleIndexWrite();
      return true;
    }
    throw new TempFailure(`flags of a message in ${this.dir} keep changing; try again`);
  }

  /** Removes messages; returns the UIDs actually removed (others were already gone). */
  async unlinkEntries(uids: readonly number[]): Promise<number[]> {
    const removed = new Set<number>();
    let mark: string | undefined = this.mark();
    for (const uid of uids) {
      const f = this.file(uid);
      if (!f || removed.has(uid)) continue;
      try {
        await unlink(f.path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new TempFailure(`cannot expunge from ${this.dir}`, err);
        // already renamed or removed by another process: the next sync sorts it out (and lists
        // the folder, which another process is changing right now)
        mark = undefined;
        const base = this.table.bases[this.table.indexOf(uid)]!;
        const again = (await scanFolder(this.dir)).files.get(base);
        if (again) await unlink(path.join(this.dir, again.sub, again.file)).catch(() => {});
      }
      removed.add(uid);
    }
    if (mark !== undefined) this.adopt(mark);
    if (removed.size) {
      this.forget((i) => removed.has(this.table.uids[i]!));
      this.highestModseq++;
      this.scheduleIndexWrite();
    }
    return [...removed];
  }

  /** Notifies other sessions of changes made through this process. */
  emit(change: StateChange): void {
    if (!change.added.length && !change.flagged.length && !change.expunged.length) return;
    for (const l of this.listeners) l(change);
  }

  /**
   * Gives UIDs to files already placed in cur/ by this process (APPEND, COPY): under the lock,
   * in the order given. Returns their UIDs. `mark` (mark(), taken before the files were placed)
   * lets the next sync skip listing the folder again when only we changed it meanwhile.
   */
  registerSaved(files: readonly { file: string; mtimeMs: number }[], mark?: string): Promise<number[]> {
    return this.exclusive(async () => {
      if (!this.loaded) await this.syncLocked();
      const bases = files.map((f) => parseMaildirName(f.file).base);
      this.ownUidlistSig = undefined;
      const uidOf = await this.assignUids(bases, true);
      for (const f of files) {
        const n = parseMaildirName(f.file);
        const uid = uidOf.get(n.base)!;
        if (this.table.indexOf(uid) >= 0) continue; // a concurrent sync already picked it up
        this.insert({
          uid, base: flat(n.base), sub: 'cur', file: f.file, size: n.size ?? 0, vsize: n.vsize ?? n.size ?? 0,
          mtimeMs: f.mtimeMs, modseq: ++this.highestModseq,
        });
      }
      if (this.ownUidlistSig !== undefined) this.uidlistSig = this.ownUidlistSig;
      this.ownUidlistSig = undefined;
      if (mark !== undefined) this.adopt(mark);
      this.scheduleIndexWrite();
      return bases.map((b) => uidOf.get(b)!);
    });
  }

  /**
   * The directories' signature before a change of our own (a rename, an unlink, a file placed
   * in cur/); adopt() takes it back once the change is made.
   */
  mark(): string {
    return signatureNow(this.dir);
  }

  /**
   * Our own change, begun when the directories' signature was `mark`, is done and already in the
   * table: take the signature it left, so the next sync does not list the folder again for it.
   * Only when nothing changed between the last listing and `mark` (otherwise the next sync lists
   * as before). Another process may still have changed a directory while ours was changing (its
   * mtime then only says the last of the two), so the folder is listed once more when the
   * directories have settled (as Dovecot's MAILDIR_SYNC_SECS delayed refresh): such a change
   * shows up within seconds, any later one at the next sync as always.
   */
  private adopt(mark: string): void {
    if (!this.loaded || mark !== this.signature) return;
    this.signature = signatureNow(this.dir);
    this.signatureAt = Date.now();
    this.scheduleRecheck();
  }

  private scheduleRecheck(): void {
    if (this.recheckTimer) return;
    this.recheckTimer = setTimeout(() => {
      this.recheckTimer = undefined;
      this.exclusive(() => this.syncLocked(true)).catch((err: unknown) => this.deps.log.warn({ dir: this.dir, err: (err as Error).message }, 'recheck of a folder failed'));
    }, SETTLE_MS);
    this.recheckTimer.unref();
  }

  /** `force`: list the folder even if its signature is unchanged (a recheck, a lost rename race). */
  private async syncLocked(force = false): Promise<StateChange> {
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
    if (!force && this.loaded && sig === this.signature && uidlistSig === this.uidlistSig) return change;
    if (!this.loaded) {
      void cleanTmp(this.dir, this.deps.now?.() ?? Date.now()).catch(() => {});
      if (await this.loadIndex(sig, uidlistSig)) return change;
    }

    // This listing covers whatever a pending recheck was for.
    if (this.recheckTimer) clearTimeout(this.recheckTimer);
    this.recheckTimer = undefined;
    const scan = await scanFolder(this.dir);
    let listed = scan.signature;
    const first = !this.loaded;
    const t = this.table;
    const known = new Set<string>();
    const bump = (i: number): void => {
      t.modseqs[i] = ++this.highestModseq;
      change.flagged.push(t.uids[i]!);
    };
    for (let i = 0; i < t.length; i++) {
      const f = scan.files.get(t.bases[i]!);
      if (!f) {
        change.expunged.push(t.uids[i]!);
        continue;
      }
      known.add(t.bases[i]!);
      if (f.file !== t.file(i) || f.sub !== t.sub(i)) {
        const before = t.flags(i);
        t.setFile(i, f.sub, f.file);
        if (before !== f.flags) bump(i);
      }
    }
    if (change.expunged.length) {
      const gone = new Set(change.expunged);
      this.forget((i) => gone.has(t.uids[i]!));
      this.highestModseq++;
    }
    if (change.flagged.length) this.version++;

    const unknown: string[] = [];
    for (const b of scan.files.keys()) if (!known.has(b)) unknown.push(b);
    this.ownUidlistSig = undefined;
    if (unknown.length || !this.loaded) {
      const uidOf = await this.assignUids(unknown, false);
      const fresh = await this.describe(unknown.map((b) => [b, scan.files.get(b)!, uidOf.get(b)!] as const));
      for (const e of fresh) {
        this.insert(e);
        change.added.push(e.uid);
      }
      const moving = fresh.filter((e) => e.sub === 'new').map((e) => e.uid);
      if (moving.length) {
        // Our own moves change new/ and cur/ after the listing: adopt() them, so the next sync
        // does not list the folder again for them alone.
        this.signature = listed;
        this.loaded = true;
        const mark = this.mark();
        await this.moveNewToCur(moving);
        this.adopt(mark);
        listed = this.signature;
      }
      if (first) t.shrink();
    } else if (uidlistSig !== this.uidlistSig) {
      // Only the uidlist changed (e.g. another process appended): refresh header values.
      const list = await readUidlist(this.dir, this.deps.log);
      if (list) this.adoptHeader(list);
    }
    // What was listed (or what our own moves left, see adopt()), not what is there now: a change
    // made after the listing by anyone else makes the next sync list again.
    this.signature = listed;
    this.signatureAt = Date.now();
    this.uidlistSig = this.ownUidlistSig ?? uidlistSig;
    this.ownUidlistSig = undefined;
    this.loaded = true;
    // A change made in the same clock tick as the listing leaves the same mtime: look again once
    // the directories have settled.
    if (!settled(this.signature, this.signatureAt)) this.scheduleRecheck();
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
    const snap = await readIndex(this.dir, this.table);
    if (!snap) {
      this.highestModseq = modseqFloor(this.deps.now?.() ?? Date.now());
      return false;
    }
    this.uidValidity = snap.uidValidity;
    this.uidNext = Math.max(snap.uidNext, this.table.length ? this.table.uids[this.table.length - 1]! + 1 : 1);
    this.highestModseq = snap.highestModseq;
    this.cacheMark = snap.cache;
    this.version++;
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
  writeIndexNow(): Promise<void> {
    // One write at a time, each snapshot taken when its turn comes: an older snapshot finishing
    // last would put older mod-sequences on disk.
    const run = this.indexWrite.then(() => this.writeIndexOnce());
    this.indexWrite = run.catch(() => {});
    return run;
  }

  private async writeIndexOnce(): Promise<void> {
    if (!this.loaded) return;
    if (this.derived?.needsCompaction()) this.derived.compact();
    // The cache's records must be on disk before an index that points at them.
    const cache = this.derived ? this.derived.flush() : this.cacheMark;
    // The signatures of the last full listing, not the current ones: entries match those, and
    // anything changed since makes the next cold open list the folder again.
    await writeIndex(this.dir, snapshotOf(this.table, {
      uidValidity: this.uidValidity, uidNext: this.uidNext, highestModseq: this.highestModseq, cache,
      dirSignature: settled(this.signature, this.signatureAt) && !this.recheckTimer ? this.signature : 'unsettled', uidlistSignature: this.uidlistSig,
    }));
  }

  /**
   * Nobody has the folder open any more: write what is pending and close tsmail.cache. The object may be used again afterwards (it reopens what it needs).
   */
  async release(): Promise<void> {
    // The watcher stopped with the last listener (onChange); nothing else to stop here.
    if (this.indexTimer) clearTimeout(this.indexTimer);
    this.indexTimer = undefined;
    // Pending operations finish first; the write itself runs off the folder's queue (as the
    // scheduled ones do), so a client that selects the folder again right away is not held up
    // by a big folder's index being written.
    await this.exclusive(async () => {});
    await this.writeIndexNow();
    if (this.derived) {
      this.cacheMark = this.derived.close();
      this.derived = undefined;
    }
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
      const known = new Set([...this.table.bases.slice(0, this.table.length), ...bases]);
      if (records.filter((r) => known.has(r.base)).length < records.length * COMPRESS_RATIO) {
        const onDisk = (await scanFolder(this.dir)).files;
        const saving = new Set(bases);
        const live = records.filter((r) => onDisk.has(r.base) || saving.has(r.base));
        if (live.length < records.length * COMPRESS_RATIO) kept = live;
      }
      const compact = kept !== records;
      const updated: Uidlist = { ...list, version: 3, nextUid: next, records: kept };
      if (ordered.length || rewrite || compact || list.version !== 3) {
        // Our own write, under the lock and with its header adopted below: the next sync need
        // not list the folder again for it (dovecot-uidlist's signature is part of the check).
        let written: Promise<string> | undefined;
        await lock.commit(serializeUidlist(updated), () => (written = fileSignature(path.join(this.dir, UIDLIST_FILE))));
        if (written) this.ownUidlistSig = await written;
      }
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
      this.forget(() => true);
      this.uidValidity = list.uidValidity;
      this.derived?.reset();
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
  private async describe(items: readonly (readonly [string, ScannedFile, number])[]): Promise<MessageRecord[]> {
    const out: MessageRecord[] = [];
    for (let i = 0; i < items.length; i += STAT_BATCH) {
      const batch = await Promise.all(items.slice(i, i + STAT_BATCH).map(async ([base, f, uid]) => {
        const file = path.join(this.dir, f.sub, f.file);
        const st = await stat(file).catch(() => undefined);
        if (!st) return undefined; // vanished since the scan: the next sync reports nothing for it
        const size = f.size ?? st.size;
        const vsize = f.vsize ?? (await virtualSize(file));
        return { uid, base: flat(base), sub: f.sub, file: f.file, size, vsize, mtimeMs: st.mtimeMs, modseq: ++this.highestModseq };
      }));
      for (const e of batch) if (e) out.push(e);
    }
    return out;
  }

  /** Dovecot moves what a session has seen from new/ to cur/; those messages are \Recent once. */
  private async moveNewToCur(uids: readonly number[]): Promise<void> {
    const t = this.table;
    for (const uid of uids) {
      const i = t.indexOf(uid);
      if (i < 0 || t.sub(i) !== 'new') continue;
      const file = withInfo(t.bases[i]!, t.flags(i));
      try {
        await rename(path.join(this.dir, 'new', t.file(i)), path.join(this.dir, 'cur', file));
        const j = t.indexOf(uid);
        if (j >= 0) t.setFile(j, 'cur', file);
        this.unclaimedRecent.add(uid);
      } catch {
        // moved or removed by another process meanwhile: the next sync sees where it went
      }
    }
  }

  private insert(e: MessageRecord): void {
    this.table.insert(e);
    this.version++;
    if (e.uid >= this.uidNext) this.uidNext = e.uid + 1;
  }

  /** Drops the messages `drop` picks (by index); their bases are remembered as gone. */
  private forget(drop: (i: number) => boolean): void {
    const t = this.table;
    this.table.removeWhere((i) => {
      if (!drop(i)) return false;
      this.gone.add(t.bases[i]!);
      this.unclaimedRecent.delete(t.uids[i]!);
      if (t.cacheHeads[i]) this.derived?.dropped(t.cacheHeads[i]!);
      return true;
    });
    this.version++;
  }
}

/**
 * Whether a listing's signature can vouch for the directories staying unchanged: a directory's
 * mtime only moves once per clock tick of the kernel (a few ms), so a change made in the same
 * tick as the listing leaves the same signature behind. As Dovecot does (MAILDIR_SYNC_SECS), a
 * directory changed within the last seconds before the listing is not trusted to be unchanged.
 */
const SETTLE_NS = 2_000_000_000n;
const SETTLE_MS = Number(SETTLE_NS / 1_000_000n);

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

/**
 * A string of its own: a name cut out of a longer one (a file name, a listing) would otherwise
 * keep the longer one alive for as long as the folder is open.
 */
function flat(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}
