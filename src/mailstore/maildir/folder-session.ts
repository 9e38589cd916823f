import { link } from 'node:fs/promises';
import path from 'node:path';
import { NotFound, TempFailure } from '../../core/errors.js';
import type { Folder, FolderChanges, FolderStatus, FlagMode, MessageMeta } from '../types.js';
import { formatFlags, parseFlags, withInfo } from './filename.js';
import { keywordLetters, lettersToImapFlags, splitImapFlags } from './flag-codec.js';
import type { FolderEntry, FolderState } from './folder-state.js';
import { addKeywords } from './keywords-update.js';
import { openCrlf } from './crlf-reader.js';
import { fsyncDir } from '../../core/atomic-file.js';
import type { MaildirQuota } from './quota.js';
import { normalizeMailboxName } from './folder-path.js';

/** What a session needs from its user's mailbox to copy and move between folders. */
export interface FolderHost {
  stateFor(name: string): Promise<FolderState>;
  uniqueName(): string;
  readonly quotaTracker: MaildirQuota;
}

/**
 * One session's view of a folder (SELECT … CLOSE). The view changes only in sync(), so message
 * sequence numbers stay stable between the points where the protocol may report changes.
 */
export class MaildirFolder implements Folder {
  private view: MessageMeta[] = [];
  private readonly recent = new Set<number>();
  private readonly unsubscribe: () => void;
  private readonly changeListeners = new Set<() => void>();

  constructor(readonly name: string, private readonly state: FolderState, private readonly host: FolderHost) {
    this.unsubscribe = state.onChange(() => {
      for (const l of this.changeListeners) l();
    });
  }

  static async open(name: string, state: FolderState, host: FolderHost): Promise<MaildirFolder> {
    const f = new MaildirFolder(name, state, host);
    await f.sync();
    return f;
  }

  status(): FolderStatus {
    let unseen = 0;
    let size = 0;
    for (const e of this.state.messages) {
      if (!e.flags.includes('S')) unseen++;
      size += e.vsize;
    }
    return {
      messages: this.state.messages.length, recent: this.recent.size, unseen,
      uidNext: this.state.uidNext, uidValidity: this.state.uidValidity, highestModseq: this.state.highestModseq, size,
    };
  }

  messages(): readonly MessageMeta[] {
    return this.view;
  }

  async sync(): Promise<FolderChanges> {
    await this.state.sync();
    for (const uid of this.state.claimRecent()) this.recent.add(uid);
    if (this.view.length === 0) {
      // First look (SELECT): everything is new to this session; no diff to compute.
      this.view = this.state.messages.map((e) => this.metaOf(e));
      return { added: this.view.map((m) => m.uid), flagged: [], expunged: [] };
    }
    const before = new Map(this.view.map((m) => [m.uid, m]));
    const next = this.state.messages.map((e) => this.metaOf(e));
    const changes: FolderChanges = { added: [], flagged: [], expunged: [] };
    const now = new Set<number>();
    for (const m of next) {
      now.add(m.uid);
      const old = before.get(m.uid);
      if (!old) changes.added.push(m.uid);
      else if (old.modseq !== m.modseq) changes.flagged.push(m);
    }
    for (const uid of before.keys()) if (!now.has(uid)) {
      changes.expunged.push(uid);
      this.recent.delete(uid);
    }
    this.view = next;
    return changes;
  }

  isRecent(uid: number): boolean {
    return this.recent.has(uid);
  }

  count(): number {
    return this.view.length;
  }

  uidAt(seq: number): number {
    return this.view[seq - 1]?.uid ?? 0;
  }

  seqOf(uid: number): number {
    let lo = 0;
    let hi = this.view.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const u = this.view[mid]!.uid;
      if (u === uid) return mid + 1;
      if (u < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  meta(uid: number): MessageMeta | undefined {
    const e = this.state.entry(uid);
    return e ? this.state.meta(e) : undefined;
  }

  cacheGet(uid: number, key: string): string | undefined {
    return this.state.cacheGet(uid, key);
  }

  cacheSet(uid: number, key: string, value: string): void {
    this.state.cacheSet(uid, key, value);
  }

  async read(uid: number, range?: { start: number; end?: number }): Promise<import('node:stream').Readable> {
    const e = this.state.entry(uid);
    if (!e) throw new NotFound(`no message with UID ${uid}`);
    return openCrlf(this.state.path(e), range);
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
      for (const uid of uids) {
        const e = this.state.entry(uid);
        if (!e) continue;
        if (unchangedSince !== undefined && e.modseq > unchangedSince) {
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
        if (await this.state.renameFlags(e, apply)) changed.push(this.metaOf(e));
      }
      if (changed.length) this.state.emit({ added: [], flagged: changed.map((m) => m.uid), expunged: [] });
      return { changed, failed };
    });
  }

  async copyTo(uids: readonly number[], target: string): Promise<{ uidValidity: number; map: Map<number, number> }> {
    const dest = await this.host.stateFor(target);
    const sources = uids.map((u) => this.state.entry(u)).filter((e): e is FolderEntry => e !== undefined);
    const bytes = sources.reduce((n, e) => n + e.size, 0);
    await this.host.quotaTracker.check(bytes, sources.length, normalizeMailboxName(target), false);
    const saved: { file: string; mtimeMs: number; src: number; size: number }[] = [];
    // Keyword letters are per folder: translate by name into the target's dovecot-keywords.
    const names = new Set<string>();
    for (const e of sources) for (const f of lettersToImapFlags(e.flags, this.state.keywords)) if (!f.startsWith('\\')) names.add(f);
    let table = dest.keywords;
    if (keywordLetters([...names], table).missing.length) {
      dest.setKeywords(await addKeywords(dest.dir, [...names]));
      table = dest.keywords;
    }
    for (const e of sources) {
      const flags = splitImapFlags(lettersToImapFlags(e.flags, this.state.keywords));
      if (parseFlags(e.flags).system.has('P')) flags.system.add('P');
      const info = formatFlags(flags.system, keywordLetters(flags.keywords, table).letters);
      // The source file is complete and immutable: a hard link straight into the target's cur/
      // is atomic, so no tmp/ step is needed (Dovecot's maildir_copy_hardlink does the same).
      const file = withInfo(`${this.host.uniqueName()},S=${e.size},W=${e.vsize}`, info);
      if (!(await this.linkInto(e, path.join(dest.dir, 'cur', file), target))) continue; // expunged meanwhile
      saved.push({ file, mtimeMs: e.mtimeMs, src: e.uid, size: e.size });
    }
    if (saved.length) await fsyncDir(path.join(dest.dir, 'cur'));
    await this.host.quotaTracker.record(saved.reduce((n, s) => n + s.size, 0), saved.length);
    const newUids = await dest.registerSaved(saved);
    dest.emit({ added: newUids, flagged: [], expunged: [] });
    return { uidValidity: dest.uidValidity, map: new Map(saved.map((s, i) => [s.src, newUids[i]!])) };
  }

  /** Links `e`'s file to `dest`; if another process renamed it (flags), finds it again once. */
  private async linkInto(e: FolderEntry, dest: string, target: string): Promise<boolean> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await link(this.state.path(e), dest);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new TempFailure(`cannot copy into ${target}`, err);
        await this.state.sync();
        if (this.state.entry(e.uid) !== e) return false;
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
      const chosen = uids ?? this.state.messages.filter((e) => e.flags.includes('T')).map((e) => e.uid);
      const bytes = chosen.reduce((n, uid) => n + (this.state.entry(uid)?.size ?? 0), 0);
      const removed = await this.state.unlinkEntries(chosen);
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
    this.unsubscribe();
    this.changeListeners.clear();
  }

  private metaOf(e: FolderEntry): MessageMeta {
    return this.state.meta(e);
  }
}
