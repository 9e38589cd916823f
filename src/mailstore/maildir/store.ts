/**
 * The process-wide Maildir store: hands out one FolderState per folder directory, shared by all
 * sessions of all users in this process, so that a change made by one session (or seen by one
 * sync) reaches the others as an in-process event (design.md "Change notification").
 *
 * A folder's state is held while some session has it open (each open Folder, and APPEND, STATUS
 * or a COPY target only while they run) and released when the last one closes: its watcher stops,
 * tsmail.index and tsmail.cache are written and closed, and it is dropped from memory after a
 * minute (kept warm meanwhile, within a budget of messages, so STATUS polling and a client that
 * selects the folder again soon stay cheap). Users who stay logged in all
 * day therefore pin only the folders they have selected.
 */
import os from 'node:os';
import type { Logger } from '../../core/logger.js';
import type { DeliveryTarget, DropResult, MailDrop, Mailbox, QuotaLimits } from '../types.js';
import type { Readable } from 'node:stream';
import { MaildirDrop } from './drop.js';
import { newUniqueName } from './filename.js';
import { ReadWindow } from './derived-cache.js';
import { FolderState, type FolderStateDeps } from './folder-state.js';
import { MaildirQuota } from './quota.js';
import { MaildirMailbox, type SpecialUseFolder } from './user-mailbox.js';

export interface MaildirStoreOptions {
  log: Logger;
  hostname?: string;
  specialUse?: readonly SpecialUseFolder[];
  /** Extra bytes per folder beyond the user's limit (Dovecot `quota_rule2 = Trash:storage=+100M`). */
  quotaExtra?: Readonly<Record<string, number>>;
  /** The watcher of each open folder (default: inotify plus periodic rescans). */
  watch?: FolderStateDeps['watch'];
  /** How many folders nobody has open keep their state in memory (default 64)... */
  idleFolders?: number;
  /**
   * ...holding at most this many messages in all (default 200,000, ~24 MiB; a bigger folder is
   * released at once), so a client that re-SELECTs a big folder within a minute finds it warm...
   */
  idleMessages?: number;
  /** ...for this long (default 60 s; 0: release every folder as soon as nobody has it open). */
  idleMs?: number;
  now?: () => number;
}

/** The seeds' Dovecot `namespace inbox { mailbox … { auto = subscribe } }` (seed 000 calls Junk "Spam"). */
export const DEFAULT_SPECIAL_USE: readonly SpecialUseFolder[] = [
  { name: 'Drafts', use: '\\Drafts' },
  { name: 'Sent', use: '\\Sent' },
  { name: 'Trash', use: '\\Trash' },
  { name: 'Junk', use: '\\Junk' },
];

export class MaildirStore implements MailDrop {
  /** Folders some session (or a running operation) holds. */
  private readonly states = new Map<string, { state: FolderState; refs: number }>();
  /** Folders being released (index written, cache closed): reused if opened meanwhile. */
  private readonly closing = new Map<string, FolderState>();
  private readonly releasing = new Set<Promise<void>>();
  /** Recently released small folders, oldest first, kept warm for a while (STATUS, re-SELECT). */
  private readonly idle = new Map<string, { state: FolderState; timer: NodeJS.Timeout }>();
  private readonly drop: MaildirDrop;
  private readonly readWindow = new ReadWindow();
  private seq = 0;

  constructor(private readonly opts: MaildirStoreOptions) {
    this.drop = new MaildirDrop({
      quotaFor: (root, limits) => this.quotaFor(root, limits),
      uniqueName: () => this.uniqueName(),
      delivered: (dir) => this.delivered(dir),
      log: opts.log,
    });
  }

  fits(target: DeliveryTarget, bytes: number): Promise<boolean> {
    return this.drop.fits(target, bytes);
  }

  deliver(targets: readonly DeliveryTarget[], message: Readable | Buffer): Promise<DropResult[]> {
    return this.drop.deliver(targets, message);
  }

  /** The mailbox of a user whose Maildir root is `root` (MailUser.maildir), with its quota. */
  openMailbox(root: string, quota: { bytes: number | null; messages: number | null } = { bytes: null, messages: null }): Promise<Mailbox> {
    return MaildirMailbox.open(root, {
      quota: this.quotaFor(root, quota),
      stateFor: (dir) => this.acquire(dir),
      release: (dir) => this.release(dir),
      forget: (dir) => this.forget(dir),
      uniqueName: () => this.uniqueName(),
      specialUse: this.opts.specialUse ?? DEFAULT_SPECIAL_USE,
    });
  }

  /** Quota bookkeeping of one mail root (also used by delivery). */
  quotaFor(root: string, limits: QuotaLimits): MaildirQuota {
    return new MaildirQuota(root, { ...limits, extra: this.opts.quotaExtra ?? {} }, this.opts.now);
  }

  uniqueName(): string {
    return newUniqueName({ now: this.opts.now?.() ?? Date.now(), pid: process.pid, hostname: this.opts.hostname ?? os.hostname(), seq: this.seq++ });
  }

  /** Writes every known folder's tsmail.index now (clean shutdown; otherwise writes are batched). */
  async flush(): Promise<void> {
    await Promise.all(this.releasing);
    const all = [...[...this.states.values()].map((h) => h.state), ...this.closing.values(), ...[...this.idle.values()].map((i) => i.state)];
    await Promise.all(all.map((st) => st.exclusive(() => st.writeIndexNow())));
  }

  /** Folders currently held open (for tests and metrics). */
  get openFolders(): number {
    return this.states.size;
  }

  /** Folders whose state is in memory: held, being released, or kept warm (tests, metrics). */
  get loadedFolders(): number {
    return this.states.size + this.closing.size + this.idle.size;
  }

  /**
   * A delivery landed in `dir`'s new/: a folder that sessions have open syncs now, which tells
   * them (IDLE, NOOP) through the folder's in-process event, without waiting for the watcher.
   */
  private delivered(dir: string): void {
    const held = this.states.get(dir);
    if (!held) return;
    held.state.sync().catch((err: unknown) => this.opts.log.warn({ dir, err: (err as Error).message }, 'sync after delivery failed'));
  }

  private acquire(dir: string): FolderState {
    let held = this.states.get(dir);
    if (!held) {
      const warm = this.idle.get(dir);
      if (warm) {
        clearTimeout(warm.timer);
        this.idle.delete(dir);
      }
      const state = warm?.state ?? this.closing.get(dir) ?? new FolderState(dir, { log: this.opts.log, now: this.opts.now, watch: this.opts.watch, readWindow: this.readWindow });
      this.closing.delete(dir);
      held = { state, refs: 0 };
      this.states.set(dir, held);
    }
    held.refs++;
    return held.state;
  }

  /**
   * Nobody has the folder open any more: its watcher stops, its index and cache are written and
   * closed. It stays in memory for a while (keepWarm) so the next STATUS or SELECT is warm.
   */
  private release(dir: string): void {
    const held = this.states.get(dir);
    if (!held || --held.refs > 0) return;
    this.states.delete(dir);
    const state = held.state;
    this.closing.set(dir, state);
    const done = state.release()
      .catch((err: unknown) => this.opts.log.warn({ dir, err: (err as Error).message }, 'releasing a folder failed'))
      .finally(() => {
        this.releasing.delete(done);
        if (this.closing.get(dir) !== state) return; // opened again meanwhile
        this.closing.delete(dir);
        this.keepWarm(dir, state);
      });
    this.releasing.add(done);
  }

  private keepWarm(dir: string, state: FolderState): void {
    const maxMessages = this.opts.idleMessages ?? 200_000;
    if (state.count > maxMessages || (this.opts.idleMs ?? 60_000) <= 0) return;
    const timer = setTimeout(() => {
      if (this.idle.get(dir)?.state === state) this.idle.delete(dir);
    }, this.opts.idleMs ?? 60_000);
    timer.unref();
    this.idle.set(dir, { state, timer });
    let total = 0;
    for (const i of this.idle.values()) total += i.state.count;
    for (const [old, i] of this.idle) {
      if (this.idle.size <= (this.opts.idleFolders ?? 64) && total <= maxMessages) break;
      clearTimeout(i.timer);
      this.idle.delete(old);
      total -= i.state.count;
    }
  }

  /** The directory went away (DELETE, RENAME): a kept state must not come back for a new folder there. */
  private forget(dir: string): void {
    const warm = this.idle.get(dir);
    if (warm) clearTimeout(warm.timer);
    this.idle.delete(dir);
    this.closing.delete(dir);
  }
}
