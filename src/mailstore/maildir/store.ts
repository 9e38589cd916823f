/**
 * The process-wide Maildir store: hands out one FolderState per folder directory, shared by all
 * sessions of all users in this process, so that a change made by one session (or seen by one
 * sync) reaches the others as an in-process event (design.md "Change notification").
 */
import os from 'node:os';
import type { Logger } from '../../core/logger.js';
import type { DeliveryTarget, DropResult, MailDrop, Mailbox, QuotaLimits } from '../types.js';
import type { Readable } from 'node:stream';
import { MaildirDrop } from './drop.js';
import { newUniqueName } from './filename.js';
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
  /** How many closed folders keep their state in memory (default 64). */
  idleFolders?: number;
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
  private readonly states = new Map<string, { state: FolderState; refs: number }>();
  /** Recently closed folders, oldest first. */
  private readonly idle = new Map<string, FolderState>();
  private readonly drop: MaildirDrop;
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
    const all = [...[...this.states.values()].map((h) => h.state), ...this.idle.values()];
    await Promise.all(all.map((st) => st.exclusive(() => st.writeIndexNow())));
  }

  /** Folders currently held open (for tests and metrics). */
  get openFolders(): number {
    return this.states.size;
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
      const recent = this.idle.get(dir);
      this.idle.delete(dir);
      held = { state: recent ?? new FolderState(dir, { log: this.opts.log, now: this.opts.now, watch: this.opts.watch }), refs: 0 };
      this.states.set(dir, held);
    }
    held.refs++;
    return held.state;
  }

  /** A folder nobody has open stays in memory for a while: the next login or STATUS is warm. */
  private release(dir: string): void {
    const held = this.states.get(dir);
    if (!held || --held.refs > 0) return;
    this.states.delete(dir);
    this.idle.set(dir, held.state);
    for (const old of this.idle.keys()) {
      if (this.idle.size <= (this.opts.idleFolders ?? 64)) break;
      this.idle.delete(old);
    }
  }
}
