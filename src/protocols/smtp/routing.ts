/**
 * One SMTP transaction's recipients, split between local mailboxes (through delivery) and the
 * outbound spool (relayed mail), and the single commit that makes the message durable for all
 * of them before `250` is sent. Shared by port 25 (relaying for mynetworks) and submission
 * (relaying for authenticated users).
 */
import { type Transform, pipeline } from 'node:stream';
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { StagedMessage, withHead } from '../../core/staged-message.js';
import type { Logger } from '../../core/logger.js';
import type { DeliveryService, DeliveryTx, RecipientStatus } from '../../delivery/types.js';
import type { BccMaps } from './bcc.js';
import { drain, limitSize } from './data-stream.js';
import { type SmtpReply, TEMP_FAILURE, TOO_BIG, rcptReply } from './replies.js';

/** DSN parameters (RFC 3461) kept with relayed mail for the queue manager's reports. */
export interface SpoolDsn {
  ret?: string;
  envid?: string;
  /** Per recipient: NOTIFY values and ORCPT. */
  recipients?: Record<string, { notify?: string[]; orcpt?: string }>;
}

/** Where relayed mail waits for the queue manager (queue/spool.ts). */
export interface OutboundSpool {
  /** A fresh private path on the spool's filesystem, for staging. */
  stagingPath(): string;
  enqueue(envelope: { from: string; to: string[]; dsn?: SpoolDsn }, message: NodeJS.ReadableStream | Buffer): Promise<string>;
}

/** Messages up to this size are staged in memory; larger ones in a file beside the spool. */
const STAGE_IN_MEMORY = 1024 * 1024;

export class Routing {
  readonly local: string[] = [];
  readonly remote: string[] = [];
  private readonly tx: DeliveryTx;
  private readonly rcptDsn: NonNullable<SpoolDsn['recipients']> = {};

  constructor(
    delivery: DeliveryService,
    private readonly spool: OutboundSpool,
    readonly sender: string,
    private readonly session: SMTPServerSession,
    private readonly log: Logger,
  ) {
    this.tx = delivery.begin({ sender });
  }

  get count(): number {
    return this.local.length + this.remote.length;
  }

  /** Every accepted recipient, local ones first. */
  get recipients(): string[] {
    return [...this.local, ...this.remote];
  }

  /** RCPT: null when accepted; `relayAllowed` decides for addresses outside our domains. */
  async add(address: SMTPServerAddress | string, relayAllowed: boolean, relayDenied: SmtpReply): Promise<SmtpReply | null> {
    const addr = typeof address === 'string' ? address : address.address;
    let status: RecipientStatus | null;
    try {
      status = await this.tx.addRecipient(addr);
    } catch (err) {
      this.log.error({ session: this.session.id, err: (err as Error).message }, 'recipient check failed');
      return TEMP_FAILURE;
    }
    if (status?.kind === 'relay') {
      if (!relayAllowed) return relayDenied;
      this.remote.push(addr);
      if (typeof address !== 'string' && address.dsn && (address.dsn.notify || address.dsn.orcpt)) {
        this.rcptDsn[addr] = { notify: address.dsn.notify, orcpt: address.dsn.orcpt };
      }
      return null;
    }
    const reply = rcptReply(status);
    if (!reply) this.local.push(addr);
    return reply;
  }

  /**
   * The blind copies the bcc maps ask for (sender_bcc_maps / recipient_bcc_maps), added quietly;
   * one that cannot be taken is logged and skipped.
   */
  async addBlindCopies(maps: BccMaps | undefined): Promise<void> {
    for (const address of maps?.copiesFor(this.sender, this.recipients) ?? []) {
      const reply = await this.add(address, true, TEMP_FAILURE);
      if (reply) this.log.warn({ session: this.session.id, bcc: address, reply: `${reply.code} ${reply.text}` }, 'bcc recipient not added');
    }
  }

  /**
   * Reads DATA into a staged copy (size-limited, through `filter` if given). Returns the copy, or the reply when it could
   * not be had: too big, or the client went away.
   */
  async stage(stream: SMTPServerDataStream, maxSize: number, filter?: Transform): Promise<StagedMessage | SmtpReply> {
    const limited = limitSize(stream, maxSize);
    const source = filter ? pipeline(limited.out, filter, () => {}) : limited.out;
    try {
      return await StagedMessage.from(source, { spillPath: () => this.spool.stagingPath(), memoryLimit: STAGE_IN_MEMORY });
    } catch (err) {
      await drain(stream);
      if (limited.exceeded) return TOO_BIG;
      this.log.info({ session: this.session.id, err: (err as Error).message }, 'message not received');
      return TEMP_FAILURE;
    }
  }

  /**
   * Makes the message durable for every recipient: the relayed copy in the spool first, then the
   * local mailboxes. `head`: header lines to put on top (Received, Authentication-Results).
   */
  async commit(message: StagedMessage, head: string): Promise<SmtpReply> {
    try {
      if (this.remote.length) {
        const env = this.session.envelope.dsn;
        const dsn: SpoolDsn = {};
        if (env?.ret) dsn.ret = env.ret;
        if (env?.envid) dsn.envid = env.envid;
        if (Object.keys(this.rcptDsn).length) dsn.recipients = this.rcptDsn;
        await this.spool.enqueue(
          { from: this.sender, to: this.remote, ...(Object.keys(dsn).length ? { dsn } : {}) },
          withHead(head, message.stream()),
        );
      }
      if (this.local.length) {
        const whole = message.buffer();
        const results = await this.tx.commit(whole ?? message.stream(), head);
        const failed = results.find((r) => r.kind !== 'delivered');
        if (failed) return rcptReply(failed) ?? TEMP_FAILURE;
      }
    } catch (err) {
      this.log.warn({ session: this.session.id, err: (err as Error).message }, 'message not stored');
      return TEMP_FAILURE;
    }
    return { code: 250, text: `2.0.0 Ok: queued as ${this.session.id}` };
  }
}
