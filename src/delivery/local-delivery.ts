/**
 * Local delivery as a transaction (design.md principle 5): begin(envelope) → addRecipient() for
 * each RCPT (resolved through the directory: aliases, catch-alls, plus addressing) → commit(body)
 * writes the message once and hard-links it into every mailbox's new/, then reports one status
 * per recipient. Nothing is reported delivered before it is durable (save.ts).
 *
 * Headers added on top, as Dovecot LMTP does (lmtp-local.c): `Return-Path: <sender>`, and
 * `Delivered-To: <rcpt>` only when there is a single recipient ("none" is used for several,
 * which is what lets all recipients share one file).
 */
import { Readable } from 'node:stream';
import { InvalidInput, QuotaExceeded, TempFailure } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { UserDirectory } from '../directory/types.js';
import { KnownInboxes, type InboxDirs } from '../mailstore/maildir/inbox.js';
import { discard, publish, writeTmp } from '../mailstore/maildir/save.js';
import type { DeliveryEnvelope, DeliveryService, DeliveryTx, RecipientStatus } from './types.js';

/** Quota bookkeeping of one mail root (mailstore/maildir/quota.ts MaildirQuota). */
export interface DeliveryQuota {
  check(bytes: number, count: number, folder: string, delivery: boolean): Promise<void>;
  record(bytes: number, count: number): Promise<void>;
}

export interface LocalDeliveryDeps {
  directory: UserDirectory;
  quotaFor(root: string, limits: { bytes: number | null; messages: number | null }): DeliveryQuota;
  /** A new Maildir unique base name (`<secs>.M<usecs>P<pid>.<host>`). */
  uniqueName: () => string;
  log: Logger;
}

interface Accepted {
  address: string;
  /** Maildir roots of the mailboxes the address resolves to, with their quota limits. */
  maildirs: { user: string; root: string; limits: { bytes: number | null; messages: number | null } }[];
}

export class LocalDelivery implements DeliveryService {
  private readonly inboxes = new KnownInboxes();

  constructor(private readonly deps: LocalDeliveryDeps) {}

  begin(envelope: DeliveryEnvelope): DeliveryTransaction {
    return new DeliveryTransaction(envelope, this.deps, this.inboxes);
  }
}

export class DeliveryTransaction implements DeliveryTx {
  private readonly accepted: Accepted[] = [];
  private done = false;

  constructor(
    private readonly envelope: DeliveryEnvelope,
    private readonly deps: LocalDeliveryDeps,
    private readonly inboxes: KnownInboxes,
  ) {}

  /**
   * Resolves one recipient (RCPT time). Returns its status if it is already final (unknown,
   * temp), or null when the recipient is accepted and waits for the message.
   */
  async addRecipient(address: string): Promise<RecipientStatus | null> {
    let resolution;
    try {
      resolution = await this.deps.directory.resolve(address);
    } catch (err) {
      if (err instanceof InvalidInput) return { kind: 'unknown' };
      if (err instanceof TempFailure) return { kind: 'temp', reason: err.message };
      throw err;
    }
    if (resolution.kind === 'foreign') return { kind: 'relay' };
    if (resolution.kind !== 'deliver' || resolution.mailboxes.length === 0) return { kind: 'unknown' };
    const maildirs: Accepted['maildirs'] = [];
    for (const user of resolution.mailboxes) {
      let found;
      try {
        found = await this.deps.directory.lookupUser(user);
      } catch (err) {
        if (err instanceof TempFailure || err instanceof InvalidInput) return { kind: 'temp', reason: (err as Error).message };
        throw err;
      }
      if (!found) return { kind: 'temp', reason: `mailbox ${user} has no userdb entry` };
      maildirs.push({ user, root: found.maildir, limits: { bytes: found.quotaBytes, messages: found.quotaMessages } });
    }
    if (resolution.forwards.length) {
      // Forwarding to other domains needs the outbound queue (a later issue); never drop silently.
      this.deps.log.warn({ address, forwards: resolution.forwards }, 'alias forwards to other domains are not delivered yet');
    }
    this.accepted.push({ address, maildirs });
    return null;
  }

  get recipients(): readonly string[] {
    return this.accepted.map((a) => a.address);
  }

  /**
   * Stores the message for every accepted recipient. Resolves with one status per accepted
   * recipient, in addRecipient order. A message stream that fails (client gone mid-DATA) rejects
   * and leaves nothing behind.
   */
  async commit(message: NodeJS.ReadableStream | Buffer, extraHeaders = ''): Promise<RecipientStatus[]> {
    if (this.done) throw new Error('delivery transaction already finished');
    this.done = true;
    if (this.accepted.length === 0) return [];
    const roots = new Map<string, { dirs: InboxDirs; quota: DeliveryQuota; user: string }>();
    const failed = new Map<string, RecipientStatus>();
    for (const a of this.accepted) {
      for (const m of a.maildirs) {
        if (roots.has(m.root) || failed.has(m.root)) continue;
        try {
          roots.set(m.root, { dirs: await this.inboxes.ensure(m.root), quota: this.deps.quotaFor(m.root, m.limits), user: m.user });
        } catch (err) {
          failed.set(m.root, { kind: 'temp', reason: (err as Error).message });
        }
      }
    }
    const first = [...roots.values()][0];
    if (!first) return this.statuses(failed);

    const headers = Buffer.concat([this.headers(), Buffer.from(extraHeaders)]);
    const body = Buffer.isBuffer(message) ? Readable.from([headers, message]) : Readable.from(prepend(headers, message as AsyncIterable<Buffer | string>));
    let tmp;
    try {
      tmp = await writeTmp(first.dirs.tmp, this.deps.uniqueName(), body);
    } catch (err) {
      this.inboxes.forget(first.dirs.root);
      throw err;
    }
    // Quota is checked with the real size, per mailbox: one full mailbox does not stop the others.
    for (const [root, r] of roots) {
      try {
        await r.quota.check(tmp.size, 1, 'INBOX', true);
      } catch (err) {
        if (err instanceof QuotaExceeded) failed.set(root, { kind: 'quota', mailbox: r.user });
        else failed.set(root, { kind: 'temp', reason: (err as Error).message });
        roots.delete(root);
      }
    }
    if (roots.size === 0) {
      await discard(tmp);
      return this.statuses(failed);
    }
    try {
      await publish(tmp, [...roots.values()].map((r) => ({ dir: r.dirs.new, info: null })));
    } catch (err) {
      await discard(tmp);
      for (const root of roots.keys()) this.inboxes.forget(root);
      const reason = (err as Error).message;
      this.deps.log.error({ err: reason }, 'delivery failed');
      return this.accepted.map(() => ({ kind: 'temp', reason }));
    }
    for (const r of roots.values()) {
      // The message is durable; a failed bookkeeping line only makes Dovecot's rules recalculate.
      await r.quota.record(tmp.size, 1).catch((err: unknown) => this.deps.log.warn({ err: (err as Error).message }, 'cannot update maildirsize'));
    }
    return this.statuses(failed);
  }

  private statuses(failed: ReadonlyMap<string, RecipientStatus>): RecipientStatus[] {
    return this.accepted.map((a): RecipientStatus => {
      const bad = a.maildirs.map((m) => failed.get(m.root)).find((s) => s !== undefined);
      return bad ?? { kind: 'delivered', mailboxes: a.maildirs.map((m) => m.user) };
    });
  }

  private headers(): Buffer {
    const lines = [`Return-Path: <${this.envelope.sender}>`];
    if (this.accepted.length === 1) lines.push(`Delivered-To: ${this.accepted[0]!.address}`);
    return Buffer.from(lines.map((l) => l + '\r\n').join(''));
  }
}

async function* prepend(head: Buffer, rest: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  yield head;
  for await (const chunk of rest) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}
