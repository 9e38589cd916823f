/**
 * LMTP (RFC 2033) for a Postfix in front (`virtual_transport = lmtp:unix:private/dovecot-lmtp`)
 * or any MTA: recipients are checked at RCPT (550 5.1.1 for unknown ones, 552 5.2.2 when the
 * announced SIZE= does not fit their quota, as Dovecot's lmtp_rcpt_check_quota), and after DATA
 * every accepted recipient gets its own reply — delivered, 552 5.2.2 over quota, 451 temporary —
 * as Postfix expects from Dovecot LMTP. Built on smtp-server with `lmtp: true`.
 */
import type { SMTPServerAddress, SMTPServerDataStream } from 'smtp-server';
import { TempFailure } from '../../core/errors.js';
import type { DeliveryService, DeliveryTx } from '../../delivery/types.js';
import { drain, messageData } from './data-stream.js';
import { type Refusal, type SmtpReply, deliveryReply, reply } from './replies.js';
import type { SessionLimits } from './server-adapter.js';
import { type SmtpContext, SmtpService, type SmtpServiceOptions, envelopeOf } from './smtp-service.js';

export interface LmtpOptions {
  /** smtpd_timeout and the STARTTLS handshake timeout (server-adapter.ts); connection limits are the listener's. */
  limits?: SessionLimits;
  hostname: string;
  maxMessageSize: number;
  delivery: DeliveryService;
  log: SmtpServiceOptions['log'];
  sessionIds?: SmtpServiceOptions['sessionIds'];
}

interface LmtpTransaction {
  tx: DeliveryTx;
  accepted: string[];
}

export class LmtpService extends SmtpService<LmtpTransaction> {
  constructor(private readonly opts: LmtpOptions) {
    super(
      { hostname: opts.hostname, banner: 'tsmail LMTP ready', maxMessageSize: opts.maxMessageSize, limits: opts.limits, lmtp: true, log: opts.log, sessionIds: opts.sessionIds },
      {
        mailFrom: async (ctx, address) => this.mailFrom(ctx, address),
        rcptTo: (ctx, address) => this.rcpt(ctx, address.address),
        data: (ctx, stream) => this.data(ctx, stream),
      },
    );
  }

  private mailFrom(ctx: SmtpContext<LmtpTransaction>, address: SMTPServerAddress): null {
    const { sender, size } = envelopeOf(address);
    ctx.tx = { tx: this.opts.delivery.begin({ sender, ...(size !== undefined ? { size } : {}) }), accepted: [] };
    return null;
  }

  private async rcpt(ctx: SmtpContext<LmtpTransaction>, address: string): Promise<Refusal | null> {
    const state = ctx.tx;
    if (!state) return { kind: 'temp', reason: 'no transaction' };
    const status = await state.tx.addRecipient(address);
    if (status === null) {
      state.accepted.push(address);
      return null;
    }
    if (status.kind === 'relay') return { kind: 'unknown' };
    if (status.kind === 'delivered') throw new Error('a recipient cannot be delivered before the message');
    return status;
  }

  /** One reply per accepted recipient. */
  private async data(ctx: SmtpContext<LmtpTransaction>, stream: SMTPServerDataStream): Promise<SmtpReply[]> {
    const state = ctx.tx;
    if (!state) throw new TempFailure('DATA without a transaction');
    // The size limit is enforced while the message streams in, so an oversized message is
    // never stored (smtp-server only flags it once DATA is over).
    const limited = messageData(stream, this.opts.maxMessageSize);
    let results;
    try {
      results = await state.tx.commit(limited.out);
    } catch (err) {
      await drain(stream);
      if (limited.exceeded) return state.accepted.map(() => reply({ kind: 'too-big' }));
      throw err;
    }
    return results.map((status, i) => {
      const rcpt = state.accepted[i]!;
      ctx.log.info({ rcpt, status: status.kind }, 'lmtp delivery');
      return deliveryReply(rcpt, status, ctx.id);
    });
  }
}
