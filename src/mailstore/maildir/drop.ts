/**
 * Delivery into INBOXes (MailDrop in ../types.ts): the message is written once into the first
 * target's tmp/ and hard-linked into every target's new/ (save.ts), each target's quota checked
 * with the real size, so one full mailbox does not stop the others. Dovecot LMTP does the same
 * for several recipients of one transaction (lmtp-local.c, one mail_save then copies).
 */
import path from 'node:path';
import type { Readable } from 'node:stream';
import { QuotaExceeded, TempFailure } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { DeliveryTarget, DropResult, MailDrop, QuotaLimits } from '../types.js';
import { KnownInboxes, type InboxDirs } from './inbox.js';
import type { MaildirQuota } from './quota.js';
import { discard, publish, writeTmp } from './save.js';

export interface MaildirDropDeps {
  quotaFor(root: string, limits: QuotaLimits): MaildirQuota;
  /** A new Maildir unique base name (`<secs>.M<usecs>P<pid>.<host>`). */
  uniqueName(): string;
  /** Called with each INBOX directory that got a message, once it is durable. */
  delivered(inboxDir: string): void;
  log: Logger;
}

export class MaildirDrop implements MailDrop {
  private readonly inboxes = new KnownInboxes();

  constructor(private readonly deps: MaildirDropDeps) {}

  async fits(target: DeliveryTarget, bytes: number): Promise<boolean> {
    const quota = this.deps.quotaFor(target.root, target.quota);
    if (!quota.limited) return true;
    try {
      // The quota is counted in the Maildir (maildirsize), which a first delivery creates.
      await this.inboxes.ensure(path.resolve(target.root));
      await quota.check(bytes, 1, 'INBOX', true);
      return true;
    } catch (err) {
      if (err instanceof QuotaExceeded) return false;
      throw err instanceof TempFailure ? err : new TempFailure('cannot read quota', err);
    }
  }

  async deliver(targets: readonly DeliveryTarget[], message: Readable | Buffer): Promise<DropResult[]> {
    const results: DropResult[] = targets.map(() => null);
    // Several targets may be one mailbox (two aliases of one user): it gets one copy.
    const roots = new Map<string, { dirs: InboxDirs; quota: MaildirQuota; at: number[] }>();
    for (const [i, t] of targets.entries()) {
      const root = path.resolve(t.root);
      const known = roots.get(root);
      if (known) {
        known.at.push(i);
        continue;
      }
      try {
        roots.set(root, { dirs: await this.inboxes.ensure(root), quota: this.deps.quotaFor(root, t.quota), at: [i] });
      } catch (err) {
        results[i] = asTemp(err);
      }
    }
    const first = [...roots.values()][0];
    if (!first) {
      // Nothing can take it; the stream is still read to its end, so the client gets its replies.
      if (!Buffer.isBuffer(message)) message.resume();
      return results;
    }
    let tmp;
    try {
      tmp = await writeTmp(first.dirs.tmp, this.deps.uniqueName(), message);
    } catch (err) {
      this.inboxes.forget(first.dirs.root);
      throw err;
    }
    const fail = (root: string, error: QuotaExceeded | TempFailure) => {
      for (const i of roots.get(root)!.at) results[i] = error;
      roots.delete(root);
    };
    for (const [root, r] of [...roots]) {
      try {
        await r.quota.check(tmp.size, 1, 'INBOX', true);
      } catch (err) {
        fail(root, err instanceof QuotaExceeded ? err : asTemp(err));
      }
    }
    if (roots.size === 0) {
      await discard(tmp);
      return results;
    }
    try {
      await publish(tmp, [...roots.values()].map((r) => ({ dir: r.dirs.new, info: null })));
    } catch (err) {
      await discard(tmp);
      const error = asTemp(err);
      this.deps.log.error({ err: error.message }, 'delivery failed');
      for (const root of [...roots.keys()]) {
        this.inboxes.forget(root);
        fail(root, error);
      }
      return results;
    }
    for (const [root, r] of roots) {
      // Durable now; a failed bookkeeping line only makes Dovecot's rules recalculate the quota.
      await r.quota.record(tmp.size, 1).catch((err: unknown) => this.deps.log.warn({ err: (err as Error).message }, 'cannot update maildirsize'));
      this.deps.delivered(root);
    }
    return results;
  }
}

function asTemp(err: unknown): TempFailure {
  return err instanceof TempFailure ? err : new TempFailure((err as Error).message, err);
}
