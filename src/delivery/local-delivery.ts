/**
 * Local delivery as a transaction (design.md principle 5): begin(envelope) → addRecipient() for
 * each RCPT (resolved through the directory: aliases, catch-alls, plus addressing) → commit(body)
 * hands the message to the mail store, which writes it once for every mailbox and makes it
 * durable before one status per recipient is reported.
 *
 * Headers added on top, as Dovecot LMTP does (lmtp-local.c): `Return-Path: <sender>`, and
 * `Delivered-To: <rcpt>` only when there is a single recipient ("none" is used for several,
 * which is what lets all recipients share one file).
 */
import { Readable } from 'node:stream';
import { InvalidInput, QuotaExceeded, TempFailure } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { UserDirectory } from '../directory/types.js';
import type { DeliveryTarget, MailDrop } from '../mailstore/types.js';
import type { DeliveryEnvelope, DeliveryService, DeliveryTx, RecipientStatus } from './types.js';

export interface LocalDeliveryDeps {
  directory: UserDirectory;
  store: MailDrop;
  log: Logger;
}

interface Accepted {
  address: string;
  /** The mailboxes the address resolves to. */
  mailboxes: { user: string; target: DeliveryTarget }[];
}

export class LocalDelivery implements DeliveryService {
  constructor(private readonly deps: LocalDeliveryDeps) {}

  begin(envelope: DeliveryEnvelope): DeliveryTransaction {
    return new DeliveryTransaction(envelope, this.deps);
  }
}

export class DeliveryTransaction implements DeliveryTx {
  private readonly accepted: Accepted[] = [];
  private done = false;

  constructor(private readonly envelope: DeliveryEnvelope, private readonly deps: LocalDeliveryDeps) {}

  /**
   * Resolves one recipient (RCPT time). Returns its status if it is already final (unknown,
   * relay, over quota for the announced size, temp), or null when the recipient is accepted and
   * waits for the message.
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
    const mailboxes: Accepted['mailboxes'] = [];
    for (const user of resolution.mailboxes) {
      let found;
      try {
        found = await this.deps.directory.lookupUser(user);
      } catch (err) {
        if (err instanceof TempFailure || err instanceof InvalidInput) return { kind: 'temp', reason: (err as Error).message };
        throw err;
      }
      if (!found) return { kind: 'temp', reason: `mailbox ${user} has no userdb entry` };
      mailboxes.push({ user, target: { root: found.maildir, quota: { bytes: found.quotaBytes, messages: found.quotaMessages } } });
    }
    const size = this.envelope.size;
    if (size !== undefined) {
      for (const m of mailboxes) {
        try {
          if (!(await this.deps.store.fits(m.target, size))) return { kind: 'quota', mailbox: m.user };
        } catch (err) {
          return { kind: 'temp', reason: (err as Error).message };
        }
      }
    }
    if (resolution.forwards.length) {
      // Forwarding to other domains needs the outbound queue (a later issue); never drop silently.
      this.deps.log.warn({ address, forwards: resolution.forwards }, 'alias forwards to other domains are not delivered yet');
    }
    this.accepted.push({ address, mailboxes });
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
    const all = this.accepted.flatMap((a) => a.mailboxes);
    const headers = Buffer.concat([this.headers(), Buffer.from(extraHeaders)]);
    const body = Buffer.isBuffer(message) ? Readable.from([headers, message]) : Readable.from(prepend(headers, message as AsyncIterable<Buffer | string>));
    const results = await this.deps.store.deliver(all.map((m) => m.target), body);
    let i = 0;
    return this.accepted.map((a): RecipientStatus => {
      let failed: RecipientStatus | undefined;
      for (const m of a.mailboxes) {
        const r = results[i++];
        if (!r || failed) continue;
        failed = r instanceof QuotaExceeded ? { kind: 'quota', mailbox: m.user } : { kind: 'temp', reason: r.message };
      }
      if (failed) this.deps.log.warn({ rcpt: a.address, status: failed.kind }, 'not delivered');
      return failed ?? { kind: 'delivered', mailboxes: a.mailboxes.map((m) => m.user) };
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
