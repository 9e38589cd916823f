/**
 * One SMTP transaction's recipients, split between local mailboxes (local delivery) and the
 * outbound spool (relayed mail), and the single commit that makes the message durable for all
 * of them before the client is told so. Shared by port 25 (relaying for mynetworks) and
 * submission (relaying for authenticated users); whether relaying is allowed is theirs to say.
 */
import { normalizeAddress } from '../core/address.js';
import { withHead } from '../core/staged-message.js';
import type { Logger } from '../core/logger.js';
import type { BccMaps } from './bcc.js';
import type {
  CommitOutcome, DeliveryService, RecipientStatus, DeliveryTx, OutboundSpool, RcptRequest, RoutedTransaction, RouteOutcome, RoutingEnvelope,
  SpoolDsn, StagedBody, TransactionRouter,
} from './types.js';

/** Starts Routing transactions over one local delivery, spool and set of bcc maps. */
export class Router implements TransactionRouter {
  constructor(
    private readonly delivery: DeliveryService,
    private readonly spool: OutboundSpool,
    private readonly bcc: BccMaps | undefined,
    private readonly log: Logger,
  ) {}

  begin(envelope: RoutingEnvelope): Routing {
    return new Routing(this.delivery, this.spool, envelope, this.bcc, this.log);
  }

  stagingPath(): string {
    return this.spool.stagingPath();
  }
}

export class Routing implements RoutedTransaction {
  readonly local: string[] = [];
  readonly remote: string[] = [];
  private readonly tx: DeliveryTx;
  private readonly rcptDsn: NonNullable<SpoolDsn['recipients']> = {};
  /** Accepted recipients by normalized address: one given twice is kept once. */
  private readonly accepted = new Map<string, 'local' | 'remote'>();

  constructor(
    delivery: DeliveryService,
    private readonly spool: OutboundSpool,
    private readonly envelope: RoutingEnvelope,
    private readonly bcc: BccMaps | undefined,
    private readonly log: Logger,
  ) {
    this.tx = delivery.begin({ sender: envelope.sender, ...(envelope.size !== undefined ? { size: envelope.size } : {}) });
  }

  get sender(): string {
    return this.envelope.sender;
  }

  get count(): number {
    return this.local.length + this.remote.length;
  }

  /** Every accepted recipient, local ones first. */
  get recipients(): string[] {
    return [...this.local, ...this.remote];
  }

  /**
   * RCPT: `relayAllowed` decides for addresses outside our domains. Throws on backend trouble.
   * A recipient already accepted is accepted again without being added twice: Postfix's cleanup
   * drops duplicate recipients, so the mailbox gets one copy and the spool envelope stays small.
   */
  async add(rcpt: RcptRequest, relayAllowed: boolean): Promise<RouteOutcome> {
    const key = dedupeKey(rcpt.address);
    const earlier = this.accepted.get(key);
    if (earlier) return { kind: earlier };
    const status = await this.tx.addRecipient(rcpt.address);
    if (status?.kind === 'relay') {
      if (!relayAllowed) return { kind: 'relay-denied' };
      this.remote.push(rcpt.address);
      this.accepted.set(key, 'remote');
      if (rcpt.notify || rcpt.orcpt) this.rcptDsn[rcpt.address] = { notify: rcpt.notify, orcpt: rcpt.orcpt };
      return { kind: 'remote' };
    }
    if (status === null) {
      this.local.push(rcpt.address);
      this.accepted.set(key, 'local');
      return { kind: 'local' };
    }
    if (status.kind === 'delivered') throw new Error('a recipient cannot be delivered before the message');
    return status;
  }

  /**
   * The blind copies the bcc maps ask for (sender_bcc_maps / recipient_bcc_maps), added quietly;
   * one that cannot be taken is logged and skipped, as Postfix does not bounce for them either.
   */
  async addBlindCopies(): Promise<void> {
    for (const address of this.bcc?.copiesFor(this.sender, this.recipients) ?? []) {
      const outcome = await this.add({ address }, true).catch((err: unknown) => ({ kind: 'temp', reason: (err as Error).message }) as const);
      if (outcome.kind !== 'local' && outcome.kind !== 'remote') this.log.warn({ bcc: address, outcome: outcome.kind }, 'bcc recipient not added');
    }
  }

  /**
   * Makes the message durable for every recipient: the relayed copy in the spool first, then the
   * local mailboxes. `head`: header lines to put on top (Received, Authentication-Results).
   * Throws when the spool or a mailbox cannot take it (nothing is acknowledged then).
   */
  async commit(message: StagedBody, head: string): Promise<CommitOutcome> {
    let spooled: string | undefined;
    if (this.remote.length) {
      const dsn: SpoolDsn = {};
      if (this.envelope.ret) dsn.ret = this.envelope.ret;
      if (this.envelope.envid) dsn.envid = this.envelope.envid;
      if (Object.keys(this.rcptDsn).length) dsn.recipients = this.rcptDsn;
      spooled = await this.spool.enqueue(
        { from: this.sender, to: this.remote, ...(Object.keys(dsn).length ? { dsn } : {}) },
        withHead(head, message.stream()),
      );
    }
    if (this.local.length) {
      const results = await this.tx.commit(message.buffer() ?? message.stream(), head);
      const failed = results.find((r): r is Exclude<RecipientStatus, { kind: 'delivered' }> => r.kind !== 'delivered');
      if (failed) return failed.kind === 'relay' ? { kind: 'unknown' } : failed;
    }
    return spooled ? { kind: 'stored', spooled } : { kind: 'stored' };
  }
}

/** Addresses compare as the directory compares them (case-insensitively, as smtp-server does too). */
function dedupeKey(address: string): string {
  try {
    return normalizeAddress(address);
  } catch {
    return address.toLowerCase();
  }
}
