/**
 * Maildir++ quota for one mail root, kept in `maildirsize` the way Dovecot's quota plugin keeps
 * it (quota-maildir.c; the file format and trust rules are in maildirsize.ts): read the file,
 * recalculate it when it is missing or not trustworthy, append one line per change.
 *
 * Usage counts the on-disk size (`,S=`) of every message in new/ and cur/ of every folder, as
 * Dovecot does. Deliveries get Dovecot's default `quota_grace = 10%%` (the last message may take
 * the user up to 10% over the limit); APPEND/COPY do not. A folder may get extra room (Dovecot's
 * `quota_rule2 = Trash:storage=+100M` pattern).
 */
import { appendFile, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { QuotaExceeded, TempFailure } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/atomic-file.js';
import { dirNameToImapName } from './folder-path.js';
import { formatMaildirsize, formatMaildirsizeDelta, readMaildirsize, type QuotaLimits, type QuotaUsage } from './maildirsize.js';
import { scanFolder } from './scan.js';

export interface QuotaConfig {
  /** Bytes; null = unlimited. */
  bytes: number | null;
  messages: number | null;
  /** Extra bytes allowed when saving into these folders, e.g. `{ Trash: 100 MiB }`. */
  extra?: Readonly<Record<string, number>>;
}

const GRACE = 0.1;
const FILE = 'maildirsize';

export class MaildirQuota {
  constructor(private readonly root: string, private readonly config: QuotaConfig, private readonly now: () => number = Date.now) {}

  get configured(): QuotaConfig {
    return this.config;
  }

  get limited(): boolean {
    return this.config.bytes !== null || this.config.messages !== null;
  }

  private get limits(): QuotaLimits {
    return { bytes: this.config.bytes ?? 0, count: this.config.messages ?? 0 };
  }

  /** Current usage, recalculating maildirsize when Dovecot's rules say it cannot be trusted. */
  async usage(): Promise<QuotaUsage> {
    const file = path.join(this.root, FILE);
    const [content, st] = await Promise.all([
      readFile(file).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw new TempFailure('cannot read maildirsize', err);
      }),
      stat(file).catch(() => undefined),
    ]);
    const state = readMaildirsize(content, { configured: this.limits, mtimeMs: st?.mtimeMs ?? 0, nowMs: this.now() });
    if (state.valid) return state.usage;
    const usage = await this.recalculate();
    await writeFileAtomic(file, formatMaildirsize(this.limits, usage), 0o600).catch((err) => {
      throw new TempFailure('cannot write maildirsize', err);
    });
    return usage;
  }

  /**
   * Throws QuotaExceeded if adding `bytes` in `count` messages to `folder` would go over the
   * limit. `delivery` allows Dovecot's grace for the message that crosses the limit.
   */
  async check(bytes: number, count: number, folder: string, delivery: boolean): Promise<void> {
    if (!this.limited) return;
    const used = await this.usage();
    const extra = this.config.extra?.[folder] ?? 0;
    const limit = this.config.bytes === null ? null : this.config.bytes + extra;
    if (limit !== null) {
      const allowed = delivery && used.bytes < limit ? limit * (1 + GRACE) : limit;
      if (used.bytes + bytes > allowed) throw new QuotaExceeded('quota exceeded (mailbox for user is full)');
    }
    if (this.config.messages !== null && used.count + count > this.config.messages) {
      throw new QuotaExceeded('quota exceeded (too many messages)');
    }
  }

  /** Records a change (appends a line, as Dovecot does with O_APPEND). No file yet: nothing to do. */
  async record(bytes: number, count: number): Promise<void> {
    const line = formatMaildirsizeDelta(bytes, count);
    if (!line || !this.limited) return;
    const file = path.join(this.root, FILE);
    if (!(await stat(file).then(() => true, () => false))) return;
    await appendFile(file, line).catch((err) => {
      throw new TempFailure('cannot update maildirsize', err);
    });
  }

  /** Sums every folder's messages; repeated when a folder changed meanwhile (as Dovecot requires). */
  private async recalculate(): Promise<QuotaUsage> {
    const dirs = [this.root];
    for (const entry of await readdir(this.root).catch(() => [] as string[])) {
      if (dirNameToImapName(entry) !== null) dirs.push(path.join(this.root, entry));
    }
    const usage: QuotaUsage = { bytes: 0, count: 0 };
    for (const dir of dirs) {
      const scan = await scanFolder(dir);
      for (const f of scan.files.values()) {
        usage.count++;
        usage.bytes += f.size ?? (await stat(path.join(dir, f.sub, f.file)).then((s) => s.size, () => 0));
      }
    }
    return usage;
  }
}
