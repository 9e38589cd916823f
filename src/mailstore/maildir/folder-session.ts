import { link } from 'node:fs/promises';
import path from 'node:path';
import { NotFound, TempFailure } from '../../core/errors.js';
import type { Folder, FolderChanges, FolderStatus, FlagMode, MessageMeta } from '../types.js';
import { formatFlags, parseFlags, withInfo } from './filename.js';
import { keywordLetters, lettersToImapFlags, splitImapFlags } from './flag-codec.js';
import type { FolderState, MessageFile } from './folder-state.js';
import { BIT_DELETED, BIT_SEEN } from './message-table.js';
import { addKeywords } from './keywords-update.js';
import { openCrlf } from './crlf-reader.js';
import { fsyncDir } from '../../core/atomic-file.js';
import type { MaildirQuota } from './quota.js';
import { normalizeMailboxName } from './folder-path.js';

/** What a session needs from its user's mailbox to copy and move between folders. */
export interface FolderHost {
  /** Runs `fn` with the state of folder `name` held (and released afterwards). */
  withState<T>(name: string, fn: (state: FolderState) => Promise<T>): Promise<T>;
  uniqueName(): string;
  readonly quotaTracker: MaildirQuota;
}

/**
 * One session's view of a folder (SELECT … CLOSE). The view changes only in sync(), so message
 * sequence numbers stay stable between the points where the protocol may report changes.
 *
 * The view is the UIDs in sequence order (one Uint32Array) and the folder's mod-sequence when it
 * was taken: a message in both the old and the new view whose modseq is above that has changed
 * flags since. Everything else (flags, sizes, dates) is read from the shared FolderState.
 */
export class MaildirFolder implements Folder {
  private view = new Uint32Array(0);
  private viewModseq = 0n;
  private viewVersion = -1;
  private readonly recent = new Set<number>();
  private readonly unsubscribe: () => void;
  private readonly changeListeners = new Set<() => void>();
  private closed = false;

  constructor(readonly name: string, private readonly state: FolderState, private readonly host: FolderHost, private readonly onClose: () => void = () => {}) {
    this.unsubscribe = state.onChange(() => {
      for (const l of this.changeListeners) l();
    });
  }

  /** Opens a view on `state`; `onClose` runs once when the view is closed (or failed to open). */
  static async open(name: string, state: FolderState, host: FolderHost, onClose?: () => void): Promise<MaildirFolder> {
    const f = new MaildirFolder(name, state, host, onClose);
    try {
      await f.sync();
    } catch (err) {
      await f.close();
      throw err;
    }
    return f;
  }

  status(): FolderStatus {
    return this.state.status(this.recent.size);
  }

  /** @deprecated an object per message; kept for old callers (protocols use count/uidAt/meta). */
  messages(): readonly MessageMeta[] {
    const out: MessageMeta[] = [];
    for (const uid of this.view) {
      const m = this.state.meta(uid);
      if (m) out.push(m);
    }
    return out;
  }

  async sync(): Promise<FolderChanges> {
    await this.state.sync();
    for (const uid of this.state.claimRecent()) this.recent.add(uid);
    const t = this.state.table;
    const changes: FolderChanges = { added: [], flagged: [], expunged: [] };
    if (this.state.version === this.viewVersion) return changes;
    const old = this.view;
    const next = t.uids.slice(0, t.length);
    if (this.viewVersion < 0) {
      // First look (SELECT): everything is new to this session; no diff to compute.
      changes.added = Array.from(next);
    } else {
      // Both in UID order: one merge finds what came, what went and what changed flags.
      let a = 0;
      for (let b = 0; b < next.length; b++) {
        const uid = next[b]!;
        while (a < old.length && old[a]! < uid) this.expunged(old[a++]!, changes);
        if (a < old.length && old[a] === uid) {
          a++;
          if (t.modseqs[b]! > this.viewModseq) changes.flagged.push(this.state.meta(uid)!);
        } else changes.added.push(uid);
      }
      while (a < old.length) this.expunged(old[a++]!, changes);
    }
    this.view = next;
    this.viewModseq = this.state.highestModseq;
    this.viewVersion = this.state.version;
    return changes;
  }

  private expunged(uid: number, changes: FolderChanges): void {
    changes.expunged.push(uid);
    this.recent.delete(uid);
  }

  isRecent(uid: number): boolean {
    return this.recent.has(uid);
  }

  count(): number {
    return this.view.length;
  }

  uidAt(seq: number): number {
    return this.view[seq - 1] ?? 0;
  }

  seqOf(uid: number): number {
    const v = this.view;
    let lo = 0;
    let hi = v.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const u = v[mid]!;
      if (u === uid) return mid + 1;
      if (u < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  meta(uid: number): MessageMeta | undefined {
    return this.state.meta(uid);
  }

  /** Table index of message `seq` of the view (-1: gone): the same index while nothing changed. */
  private indexAt(seq: number): number {
    const t = this.state.table;
    const uid = this.view[seq - 1]!;
    return seq - 1 < t.length && t.uids[seq - 1] === uid ? seq - 1 : t.indexOf(uid);
  }

  keywordsInUse(): string[] {
    const t = this.state.table;
    let bits = 0;
    for (let seq = 1; seq <= this.view.length; seq++) {
      const i = this.indexAt(seq);
      if (i >= 0) bits |= t.kw[i]!;
    }
    const out: string[] = [];
    for (let n = 0; bits !== 0; n++, bits >>>= 1) {
      const name = bits & 1 ? this.state.keywords[n] : undefined;
      if (name !== undefined) out.push(name);
    }
    return out;
  }

  firstUnseen(): number {
    const t = this.state.table;
    for (let seq = 1; seq <= this.view.length; seq++) {
      const i = this.indexAt(seq);
      if (i >= 0 && !(t.sys[i]! & BIT_SEEN)) return seq;
    }
    return 0;
  }

  cacheGet(uid: number, key: string): string | undefined {
    return this.state.cacheGet(uid, key);
  }

  cacheSet(uid: number, key: string, value: string): void {
    this.state.cacheSet(uid, key, value);
  }

  async read(uid: number, range?: { start: number; end?: number }): Promise<import('node:stream').Readable> {
    const f = this.state.file(uid);
    if (!f) throw new NotFound(`no message with UID ${uid}`);
    return openCrlf(f.path, range);
  }

  async setFlags(uids: readonly number[], mode: FlagMode, flags: readonly string[], unchangedSince?: bigint): Promise<{ changed: MessageMeta[]; failed: number[] }> {
    const wanted = splitImapFlags(flags);
    return this.state.exclusive(async () => {
      let { letters, missing } = keywordLetters(wanted.keywords, this.state.keywords);
      if (missing.length && mode !== 'remove') {
        this.state.setKeywords(await addKeywords(this.state.dir, missing));
        letters = keywordLetters(wanted.keywords, this.state.keywords).letters;
      }
      const changed: MessageMeta[] = [];
      const failed: number[] = [];
      const t = this.state.table;
      for (const uid of uids) {
        const i = t.indexOf(uid);
        if (i < 0) continue;
        if (unchangedSince !== undefined && t.modseqs[i]! > unchangedSince) {
          failed.push(uid);
          continue;
        }
        const apply = (current: string): string => {
          const cur = parseFlags(current);
          const system = new Set(cur.system);
          let kw = new Set(cur.keywords);
          if (mode === 'replace') {
            // Dovecot keeps `P`, which no IMAP flag stands for, whatever the client replaces.
            for (const l of [...system]) if (l !== 'P') system.delete(l);
            kw = new Set();
          }
          for (const l of wanted.system) mode === 'remove' ? system.delete(l) : system.add(l);
          for (const l of letters) mode === 'remove' ? kw.delete(l) : kw.add(l);
          return formatFlags(system, [...kw].join('')) + cur.unknown;
        };
        if (await this.state.renameFlags(uid, apply)) {
          const m = this.state.meta(uid);
          if (m) changed.push(m);
        }
      }
      if (changed.length) this.state.emit({ added: [], flagged: changed.map((m) => m.uid), expunged: [] });
      return { changed, failed };
    });
  }

  async copyTo(uids: readonly number[], target: string): Promise<{ uidValidity: number; map: Map<number, number> }> {
    return this.host.withState(target, (dest) => this.copyInto(uids, target, dest));
  }

  private async copyInto(uids: readonly number[], target: string, dest: FolderState): Promise<{ uidValidity: number; map: Map<number, number> }> {
    const sources = uids.map((u) => this.state.file(u)).filter((f): f is MessageFile => f !== undefined);
    const bytes = sources.reduce((n, f) => n + f.size, 0);
    await this.host.quotaTracker.check(bytes, sources.length, normalizeMailboxName(target), false);
    const saved: { file: string; mtimeMs: number; src: number; size: number }[] = [];
    // Keyword letters are per folder: translate by name into the target's dovecot-keywords.
    const names = new Set<string>();
    for (const f of sources) for (const n of lettersToImapFlags(f.flags, this.state.keywords)) if (!n.startsWith('\\')) names.add(n);
    let table = dest.keywords;
    if (keywordLetters([...names], table).missing.length) {
      dest.setKeywords(await addKeywords(dest.dir, [...names]));
      table = dest.keywords;
    }
    const mark = dest.mark();
    for (const src of sources) {
      const flags = splitImapFlags(lettersToImapFlags(src.flags, this.state.keywords));
      if (parseFlags(src.flags).system.has('P')) flags.system.add('P');
      const info = formatFlags(flags.system, keywordLetters(flags.keywords, table).letters);
      // The source file is complete and immutable: a hard link straight into the target's cur/
      // is atomic, so no tmp/ step is needed (Dovecot's maildir_copy_hardlink does the same).
      const file = withInfo(`${this.host.uniqueName()},S=${src.size},W=${src.vsize}`, info);
      if (!(await this.linkInto(src, path.join(dest.dir, 'cur', file), target))) continue; // expunged meanwhile
      saved.push({ file, mtimeMs: src.mtimeMs, src: src.uid, size: src.size });
    }
    if (saved.length) await fsyncDir(path.join(dest.dir, 'cur'));
    await this.host.quotaTracker.record(saved.reduce((n, s) => n + s.size, 0), saved.length);
    const newUids = await dest.registerSaved(saved, mark);
    dest.emit({ added: newUids, flagged: [], expunged: [] });
    return { uidValidity: dest.uidValidity, map: new Map(saved.map((s, i) => [s.src, newUids[i]!])) };
  }

  /** Links the message's file to `dest`; if another process renamed it (flags), finds it again once. */
  private async linkInto(src: MessageFile, dest: string, target: string): Promise<boolean> {
    let from = src.path;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await link(from, dest);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new TempFailure(`cannot copy into ${target}`, err);
        await this.state.sync();
        const again = this.state.file(src.uid);
        if (!again) return false;
        from = again.path;
      }
    }
    return false;
  }

  async moveTo(uids: readonly number[], target: string): Promise<{ uidValidity: number; map: Map<number, number> }> {
    const result = await this.copyTo(uids, target);
    await this.expunge([...result.map.keys()]);
    return result;
  }

  async expunge(uids?: readonly number[]): Promise<number[]> {
    return this.state.exclusive(async () => {
      const t = this.state.table;
      let chosen: readonly number[];
      if (uids) chosen = uids;
      else {
        const deleted: number[] = [];
        for (let i = 0; i < t.length; i++) if (t.sys[i]! & BIT_DELETED) deleted.push(t.uids[i]!);
        chosen = deleted;
      }
      const sizes = new Map<number, number>();
      for (const uid of chosen) {
        const i = t.indexOf(uid);
        if (i >= 0) sizes.set(uid, t.sizes[i]!);
      }
      const removed = await this.state.unlinkEntries(chosen);
      const bytes = removed.reduce((n, uid) => n + (sizes.get(uid) ?? 0), 0);
      if (removed.length) await this.host.quotaTracker.record(-bytes, -removed.length);
      this.state.emit({ added: [], flagged: [], expunged: removed });
      return removed;
    });
  }

  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.changeListeners.clear();
    this.view = new Uint32Array(0);
    this.onClose();
  }
}
