/**
 * One user's Maildir++ tree: folders as `.Name` directories under the mail root (INBOX is the
 * root itself), subscriptions in `subscriptions`, special-use folders created and subscribed on
 * first login as the seeds configure them (`auto = subscribe`).
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidInput, NotFound, PolicyReject, TempFailure } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/atomic-file.js';
import type { AppendOptions, AppendResult, Folder, FolderInfo, FolderStatus, Mailbox } from '../types.js';
import { formatFlags } from './filename.js';
import { keywordLetters, splitImapFlags } from './flag-codec.js';
import { dirNameToImapName, imapNameToDir, isInbox, normalizeMailboxName, parentNames, validateMailboxName, validateNewMailboxName, INBOX } from './folder-path.js';
import { MaildirFolder, type FolderHost } from './folder-session.js';
import type { FolderState } from './folder-state.js';
import { addKeywords } from './keywords-update.js';
import { discard, publish, writeTmp } from './save.js';
import type { MaildirQuota } from './quota.js';
import { parseSubscriptions, serializeSubscriptions, setSubscribed } from './subscriptions.js';

export interface SpecialUseFolder {
  name: string;
  /** `\Drafts`, `\Sent`, `\Trash`, `\Junk`, `\Archive` (RFC 6154). */
  use: string;
}

export interface UserMailboxDeps {
  quota: MaildirQuota;
  /** The process-wide registry: one FolderState per folder directory, held until release(). */
  stateFor(dir: string): FolderState;
  release(dir: string): void;
  /** The folder's directory was removed or renamed: no state kept for it may be reused. */
  forget(dir: string): void;
  uniqueName(): string;
  specialUse: readonly SpecialUseFolder[];
}

/** Where Dovecot moves a folder it is deleting, so a crash never leaves half a folder listed. */
const TRASHED = '.DOVECOT-TRASHED';

/**
 * A user's mailbox holds no folder state itself: each open Folder holds its folder's state until
 * it is closed, and the other operations (APPEND, STATUS, COPY targets) only while they run, so
 * a folder nobody has open is released (store.ts) however long the user stays logged in.
 */
export class MaildirMailbox implements Mailbox, FolderHost {
  private constructor(readonly root: string, private readonly deps: UserMailboxDeps) {}

  /** Opens (creating on first use) the user's Maildir and its special-use folders. */
  static async open(root: string, deps: UserMailboxDeps): Promise<MaildirMailbox> {
    const box = new MaildirMailbox(root, deps);
    await box.makeFolderDirs(root, false);
    for (const f of deps.specialUse) {
      if (!(await box.exists(f.name))) {
        try {
          await box.create(f.name);
        } catch (err) {
          // Another login of the same user (a client opening several connections at once)
          // created it between our look and our create: that login subscribes it.
          if (await box.exists(f.name)) continue;
          throw err;
        }
        await box.subscribe(f.name, true);
      }
    }
    return box;
  }

  uniqueName(): string {
    return this.deps.uniqueName();
  }

  get quotaTracker(): MaildirQuota {
    return this.deps.quota;
  }

  async withState<T>(name: string, fn: (state: FolderState) => Promise<T>): Promise<T> {
    const dir = await this.existingDir(name);
    const state = this.deps.stateFor(dir);
    try {
      return await fn(state);
    } finally {
      this.deps.release(dir);
    }
  }

  async list(): Promise<FolderInfo[]> {
    const names = new Set<string>([INBOX]);
    let entries: string[];
    try {
      entries = await readdir(this.root);
    } catch (err) {
      throw new TempFailure(`cannot list ${this.root}`, err);
    }
    for (const entry of entries) {
      const name = dirNameToImapName(entry);
      if (name === null || !(await isDir(path.join(this.root, entry)))) continue;
      names.add(name);
    }
    const subscribed = new Set(await this.subscriptions());
    const all = new Set(names);
    for (const n of names) for (const p of parentNames(n)) all.add(p);
    const uses = new Map(this.deps.specialUse.map((f) => [f.name, f.use]));
    return [...all].sort(compareNames).map((name) => {
      const hasChildren = [...all].some((o) => o.startsWith(name + '.'));
      const attributes = [hasChildren ? '\\HasChildren' : '\\HasNoChildren'];
      if (!names.has(name)) attributes.unshift('\\Noselect');
      const use = uses.get(name);
      if (use) attributes.push(use);
      return { name, attributes, subscribed: subscribed.has(name) };
    });
  }

  async create(name: string): Promise<void> {
    const norm = this.validName(name);
    validateNewMailboxName(norm);
    if (await this.exists(norm)) throw new InvalidInput(`mailbox already exists: ${norm}`);
    await this.makeFolderDirs(imapNameToDir(this.root, norm), true);
  }

  async delete(name: string): Promise<void> {
    const norm = this.validName(name);
    if (isInbox(norm)) throw new PolicyReject('INBOX cannot be deleted');
    const dir = await this.existingDir(norm);
    const trash = path.join(this.root, TRASHED);
    try {
      await rm(trash, { recursive: true, force: true });
      await rename(dir, trash);
      await rm(trash, { recursive: true, force: true });
    } catch (err) {
      throw new TempFailure(`cannot delete ${norm}`, err);
    }
    this.forget(dir);
    await this.subscribe(norm, false).catch(() => {});
  }

  /** RFC 9051 6.3.6: children move along; renaming INBOX moves its messages and leaves it empty. */
  async rename(from: string, to: string): Promise<void> {
    const src = this.validName(from);
    const dst = this.validName(to);
    validateNewMailboxName(dst);
    if (await this.exists(dst)) throw new InvalidInput(`mailbox already exists: ${dst}`);
    if (isInbox(dst)) throw new InvalidInput('cannot rename onto INBOX');
    if (isInbox(src)) return this.renameInbox(dst);
    await this.existingDir(src);
    const moves: [string, string][] = [];
    for (const entry of await readdir(this.root)) {
      const name = dirNameToImapName(entry);
      if (name === src || name?.startsWith(src + '.')) moves.push([name, dst + name.slice(src.length)]);
    }
    for (const [a, b] of moves) {
      validateMailboxName(b);
      const aDir = imapNameToDir(this.root, a);
      const bDir = imapNameToDir(this.root, b);
      await rename(aDir, bDir).catch((err) => {
        throw new TempFailure(`cannot rename ${a}`, err);
      });
      this.forget(aDir);
      this.forget(bDir);
    }
    const subs = await this.subscriptions();
    if (subs.some((s) => s === src || s.startsWith(src + '.'))) {
      await this.writeSubscriptions(subs.map((s) => (s === src || s.startsWith(src + '.') ? dst + s.slice(src.length) : s)));
    }
  }

  async subscribe(name: string, subscribed: boolean): Promise<void> {
    const norm = this.validName(name);
    await this.writeSubscriptions(setSubscribed(await this.subscriptions(), norm, subscribed));
  }

  async open(name: string): Promise<Folder> {
    const norm = this.validName(name);
    const dir = await this.existingDir(norm);
    return MaildirFolder.open(norm, this.deps.stateFor(dir), this, () => this.deps.release(dir));
  }

  /** STATUS looks without selecting: it takes no \Recent away from the session that will (RFC 3501 6.3.10). */
  async status(name: string): Promise<FolderStatus> {
    return this.withState(this.validName(name), async (state) => {
      await state.sync();
      return state.status(state.unclaimedRecentCount);
    });
  }

  async append(name: string, message: Readable | Buffer, opts: AppendOptions = {}): Promise<AppendResult> {
    const folder = this.validName(name);
    return this.withState(folder, (state) => this.appendTo(state, folder, message, opts));
  }

  private async appendTo(state: FolderState, folder: string, message: Readable | Buffer, opts: AppendOptions): Promise<AppendResult> {
    const flags = splitImapFlags(opts.flags ?? []);
    if (keywordLetters(flags.keywords, state.keywords).missing.length) state.setKeywords(await addKeywords(state.dir, flags.keywords));
    const info = formatFlags(flags.system, keywordLetters(flags.keywords, state.keywords).letters);
    const tmp = await writeTmp(path.join(state.dir, 'tmp'), this.deps.uniqueName(), message);
    try {
      await this.deps.quota.check(tmp.size, 1, folder, false);
    } catch (err) {
      await discard(tmp);
      throw err;
    }
    const when = opts.internalDate ?? new Date();
    const mark = state.mark();
    const [file] = await publish(tmp, [{ dir: path.join(state.dir, 'cur'), info }], when);
    await this.deps.quota.record(tmp.size, 1);
    const [uid] = await state.registerSaved([{ file: file!, mtimeMs: when.getTime() }], mark);
    state.emit({ added: [uid!], flagged: [], expunged: [] });
    return { uid: uid!, uidValidity: state.uidValidity };
  }

  async quota(): Promise<{ usedBytes: number; limitBytes: number | null; usedMessages: number; limitMessages: number | null }> {
    const used = await this.deps.quota.usage();
    const limits = this.deps.quota.configured;
    return { usedBytes: used.bytes, limitBytes: limits.bytes, usedMessages: used.count, limitMessages: limits.messages };
  }

  async close(): Promise<void> {
    // Nothing held: every Folder releases its own state when closed.
  }

  private forget(dir: string): void {
    this.deps.forget(dir);
  }

  /**
   * RFC 3501 6.3.5: renaming INBOX moves all its messages into a new folder of that name and
   * leaves INBOX empty (its children stay where they are). Dovecot refuses it; RFC says do it.
   */
  private async renameInbox(dst: string): Promise<void> {
    await this.create(dst);
    const inbox = await this.open(INBOX);
    try {
      const uids: number[] = [];
      for (let seq = 1; seq <= inbox.count(); seq++) uids.push(inbox.uidAt(seq));
      await inbox.moveTo(uids, dst);
    } finally {
      await inbox.close();
    }
  }

  private validName(name: string): string {
    const norm = normalizeMailboxName(name);
    validateMailboxName(norm);
    return norm;
  }

  private async exists(name: string): Promise<boolean> {
    return isDir(path.join(imapNameToDir(this.root, name), 'cur'));
  }

  private async existingDir(name: string): Promise<string> {
    const norm = this.validName(name);
    if (!(await this.exists(norm))) {
      if (isInbox(norm)) await this.makeFolderDirs(this.root, false);
      else throw new NotFound(`no such mailbox: ${norm}`);
    }
    return imapNameToDir(this.root, norm);
  }

  /** cur/ new/ tmp/, plus the `maildirfolder` marker Dovecot puts in every folder but INBOX. */
  private async makeFolderDirs(dir: string, folder: boolean): Promise<void> {
    try {
      for (const sub of ['cur', 'new', 'tmp']) await mkdir(path.join(dir, sub), { recursive: true, mode: 0o700 });
      if (folder) await writeFile(path.join(dir, 'maildirfolder'), '', { mode: 0o600 });
    } catch (err) {
      throw new TempFailure(`cannot create ${dir}`, err);
    }
  }

  private async subscriptions(): Promise<string[]> {
    const text = await readFile(path.join(this.root, 'subscriptions')).catch(() => Buffer.alloc(0));
    return parseSubscriptions(text).names;
  }

  private async writeSubscriptions(names: string[]): Promise<void> {
    const file = path.join(this.root, 'subscriptions');
    const version = (await readFile(file).then((t) => parseSubscriptions(t).version, () => 2 as const));
    await writeFileAtomic(file, serializeSubscriptions(names, version), 0o600);
  }
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}

/** INBOX first, then by name (what LIST clients expect to see). */
function compareNames(a: string, b: string): number {
  if (a === INBOX) return -1;
  if (b === INBOX) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
