/**
 * LMTP (RFC 2033) for a Postfix in front (`virtual_transport = lmtp:unix:private/dovecot-lmtp`)
 * or any MTA: recipients are checked at RCPT (550 5.1.1 for unknown ones), and after DATA every
 * accepted recipient gets its own reply — delivered, 552 5.2.2 over quota, 451 temporary — as
 * Postfix expects from Dovecot LMTP. Built on smtp-server with `lmtp: true`.
 */
import type net from 'node:net';
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { AdaptedSmtpServer, type SessionLimits } from './server-adapter.js';
import { drain, limitSize } from './data-stream.js';
import type { Logger } from '../../core/logger.js';
import type { DeliveryService, DeliveryTx, RecipientStatus } from '../../delivery/types.js';
import { type SmtpReply, TEMP_FAILURE, TOO_BIG, answer, deliveryReply, rcptReply, replyError } from './replies.js';

export interface LmtpOptions {
  /** smtpd_timeout and max clients (server-adapter.ts). */
  limits?: SessionLimits;
  hostname: string;
  maxMessageSize: number;
  delivery: DeliveryService;
  log: Logger;
}

export class LmtpService {
  private readonly server: AdaptedSmtpServer;
  /** The delivery of each session's current transaction (MAIL FROM → end of DATA). */
  private readonly txs = new WeakMap<SMTPServerSession, { tx: DeliveryTx; accepted: string[] }>();

  constructor(private readonly opts: LmtpOptions) {
    this.server = new AdaptedSmtpServer({
      lmtp: true,
      name: opts.hostname,
      banner: 'tsmail LMTP ready',
      size: opts.maxMessageSize,
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS', 'VRFY'],
      hideENHANCEDSTATUSCODES: false,
      hideDSN: false,
      hide8BITMIME: false,
      hidePIPELINING: false,
      hideSMTPUTF8: false,
      disableReverseLookup: true,
      logger: false,
      onMailFrom: (address, session, cb) => {
        this.txs.set(session, { tx: opts.delivery.begin({ sender: address.address }), accepted: [] });
        cb();
      },
      onRcptTo: (address, session, cb) => {
        answer(this.rcpt(address.address, session), cb);
      },
      onData: (stream, session, cb) => {
        void this.data(stream, session).then((replies) => cb(null, replies), () => cb(replyError(TEMP_FAILURE)));
      },
    }, opts.limits);
    this.server.on('error', (err) => opts.log.debug({ err: err.message }, 'lmtp session error'));
  }

  /** The listener's connection handler. */
  handle(socket: net.Socket): void {
    this.server.accept(socket);
  }

  private async rcpt(address: string, session: SMTPServerSession): Promise<SmtpReply | null> {
    const state = this.txs.get(session);
    if (!state) return TEMP_FAILURE;
    let status: RecipientStatus | null;
    try {
      status = await state.tx.addRecipient(address);
    } catch (err) {
      this.opts.log.error({ session: session.id, err: (err as Error).message }, 'recipient check failed');
      return TEMP_FAILURE;
    }
    const reply = rcptReply(status);
    if (!reply) state.accepted.push(address);
    return reply;
  }

  /** One reply per accepted recipient (smtp-server: string → 250, Error → its code). */
  private async data(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<(string | Error)[]> {
    const state = this.txs.get(session);
    this.txs.delete(session);
    const recipients = state?.accepted ?? session.envelope.rcptTo.map((r) => r.address);
    const all = (reply: SmtpReply) => recipients.map(() => replyError(reply));
    if (!state) {
      await drain(stream);
      return all(TEMP_FAILURE);
    }
    // The size limit is enforced while the message streams in, so an oversized message is
    // never stored (smtp-server only flags it once DATA is over).
    const limited = limitSize(stream, this.opts.maxMessageSize);
    let results: RecipientStatus[];
    try {
      results = await state.tx.commit(limited.out);
    } catch (err) {
      await drain(stream);
      if (limited.exceeded) return all(TOO_BIG);
      this.opts.log.warn({ session: session.id, err: (err as Error).message }, 'message not stored');
      return all(TEMP_FAILURE);
    }
    return results.map((status, i) => {
      const reply = deliveryReply(recipients[i]!, status, session.id);
      this.opts.log.info({ session: session.id, rcpt: recipients[i], status: status.kind }, 'lmtp delivery');
      return reply.code === 250 ? reply.text : replyError(reply);
    });
  }
}
