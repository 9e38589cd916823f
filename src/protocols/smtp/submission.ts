/**
 * Submission for users: port 587 (STARTTLS) and 465 (implicit TLS), as the seeds' master.cf
 * `submission`/`smtps` services: AUTH PLAIN/LOGIN only over TLS (`538 5.7.11` before it), MAIL
 * only after AUTH (`530 5.7.0`), and the authenticated user may only send as its own addresses
 * and aliases — envelope sender and From header (Postfix reject_sender_login_mismatch, `553 5.7.1`).
 *
 * The message is first staged (routing.ts: in memory, or a file when large) and its From header
 * checked, then stored for local recipients through delivery and for others in the durable
 * outbound spool, with bcc maps applied; `250` comes only when both are durable.
 */
import type net from 'node:net';
import type tls from 'node:tls';
import addressparser from 'nodemailer/lib/addressparser';
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { AuthFailure, TempFailure } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { StagedMessage } from '../../core/staged-message.js';
import type { DeliveryService } from '../../delivery/types.js';
import type { UserDirectory } from '../../directory/types.js';
import { drain } from './data-stream.js';
import type { BccMaps } from './bcc.js';
import { type OutboundSpool, Routing } from './routing.js';
import { AdaptedSmtpServer, type SessionLimits } from './server-adapter.js';
import { receivedHeader } from './received.js';
import { type SmtpReply, TEMP_FAILURE, answer, answerData, replyError } from './replies.js';

export interface LoginGuard {
  isBanned(ip: string): boolean;
  /** Returns the delay (ms) before answering the failure. */
  failure(ip: string, account: string): number;
}

export interface SubmissionOptions {
  /** smtpd_timeout and max clients (server-adapter.ts). */
  limits?: SessionLimits;
  hostname: string;
  maxMessageSize: number;
  /** true for 465: the socket is TLS from the start. */
  implicitTls: boolean;
  rejectSenderLoginMismatch: boolean;
  /** Failed-login counting and bans (security/auth-guard.ts). */
  guard: LoginGuard;
  directory: UserDirectory;
  delivery: DeliveryService;
  spool: OutboundSpool;
  /** sender_bcc_maps / recipient_bcc_maps. */
  bcc?: BccMaps;
  tls: () => tls.TlsOptions;
  attachTls: (server: { setSecureContext(o: tls.SecureContextOptions): void }) => void;
  log: Logger;
  now?: () => Date;
}

const AUTH_FAILED: SmtpReply = { code: 535, text: '5.7.8 Error: authentication failed' };
const AUTH_TEMP: SmtpReply = { code: 454, text: '4.7.0 Temporary authentication failure' };
const BANNED: SmtpReply = { code: 421, text: '4.7.0 Too many failed logins from your address, try again later' };

export class SubmissionService {
  private readonly server: AdaptedSmtpServer;
  private readonly txs = new WeakMap<SMTPServerSession, Routing>();

  constructor(private readonly opts: SubmissionOptions) {
    const server = new AdaptedSmtpServer({
      ...opts.tls(),
      secure: opts.implicitTls,
      name: opts.hostname,
      banner: 'tsmail submission',
      size: opts.maxMessageSize,
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: false,
      authOptional: false,
      disabledCommands: ['VRFY'],
      hideENHANCEDSTATUSCODES: false,
      hideDSN: false,
      disableReverseLookup: true,
      logger: false,
      onConnect: (session, cb) => {
        if (!opts.guard.isBanned(session.remoteAddress)) return cb();
        opts.log.info({ ip: session.remoteAddress }, 'refused: banned after failed logins');
        cb(replyError(BANNED));
      },
      onAuth: (auth, session, cb) => {
        void this.auth(auth.username ?? '', auth.password ?? '', session).then(
          (user) => cb(null, { user }),
          (reply: SmtpReply) => cb(replyError(reply)),
        );
      },
      onMailFrom: (address, session, cb) => {
        answer(this.mailFrom(address.address, session), cb);
      },
      onRcptTo: (address, session, cb) => {
        answer(this.rcpt(address, session), cb);
      },
      onData: (stream, session, cb) => {
        answerData(this.data(stream, session), cb);
      },
    }, opts.limits);
    opts.attachTls({ setSecureContext: (o) => server.updateSecureContext(o) });
    server.on('error', (err) => opts.log.debug({ err: err.message }, 'submission session error'));
    this.server = server;
  }

  handle(socket: net.Socket, adopt?: (replacement: net.Socket) => void): void {
    // For 465 the listener already did the TLS handshake; with `secure` (and no needsUpgrade)
    // smtp-server takes the socket as the TLS connection it is.
    this.server.accept(socket, adopt);
  }

  private async auth(username: string, password: string, session: SMTPServerSession): Promise<string> {
    try {
      const user = await this.opts.directory.authenticate(username, password);
      if (!user) throw new AuthFailure('bad credentials');
      this.opts.log.info({ session: session.id, user: user.user, ip: session.remoteAddress }, 'submission login');
      return user.user;
    } catch (err) {
      this.opts.log.warn({ session: session.id, user: username, ip: session.remoteAddress, err: (err as Error).message }, 'submission login failed');
      if (err instanceof TempFailure) throw AUTH_TEMP;
      const delay = this.opts.guard.failure(session.remoteAddress, username);
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      throw AUTH_FAILED;
    }
  }

  private async mailFrom(sender: string, session: SMTPServerSession): Promise<SmtpReply | null> {
    const user = session.user as string;
    if (sender !== '' && this.opts.rejectSenderLoginMismatch) {
      const mismatch = await this.notOwned(user, [sender]);
      if (mismatch) return mismatch;
    }
    this.txs.set(session, new Routing(this.opts.delivery, this.opts.spool, sender, session, this.opts.log));
    return null;
  }

  /** reject_sender_login_mismatch: every address must be the user's own or an alias of it. */
  private async notOwned(user: string, addresses: string[]): Promise<SmtpReply | null> {
    for (const address of addresses) {
      try {
        if (!(await this.opts.directory.ownsAddress(user, address))) {
          return { code: 553, text: `5.7.1 <${address}>: Sender address rejected: not owned by user ${user}` };
        }
      } catch (err) {
        if (err instanceof TempFailure) return TEMP_FAILURE;
        return { code: 553, text: `5.7.1 <${address}>: Sender address rejected: not owned by user ${user}` };
      }
    }
    return null;
  }

  private async rcpt(address: SMTPServerAddress, session: SMTPServerSession): Promise<SmtpReply | null> {
    const routing = this.txs.get(session);
    if (!routing) return TEMP_FAILURE;
    // permit_sasl_authenticated: mail for other domains goes to the outbound spool.
    return routing.add(address, true, TEMP_FAILURE);
  }

  private async data(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<SmtpReply> {
    const routing = this.txs.get(session);
    this.txs.delete(session);
    if (!routing) {
      await drain(stream);
      return TEMP_FAILURE;
    }
    const staged = await routing.stage(stream, this.opts.maxMessageSize);
    if (!(staged instanceof StagedMessage)) return staged;
    try {
      if (this.opts.rejectSenderLoginMismatch) {
        const mismatch = await this.notOwned(session.user as string, fromAddresses(await staged.headerBlock()));
        if (mismatch) return mismatch;
      }
      await routing.addBlindCopies(this.opts.bcc);
      const reply = await routing.commit(staged, this.received(session));
      this.opts.log.info({ session: session.id, user: session.user, local: routing.local, remote: routing.remote, ok: reply.code === 250 }, 'submission accepted');
      return reply;
    } catch (err) {
      this.opts.log.warn({ session: session.id, err: (err as Error).message }, 'submission not stored');
      return TEMP_FAILURE;
    } finally {
      await staged.dispose();
    }
  }

  private received(session: SMTPServerSession): string {
    return receivedHeader(session, this.opts.hostname, { user: session.user as string, date: this.opts.now?.() ?? new Date() });
  }

}

/** Addresses of every From: field (unfolded; RFC 5322 3.6.2), lower-cased. */
export function fromAddresses(headers: string): string[] {
  const unfolded = headers.replace(/\r?\n[ \t]+/g, ' ');
  const out: string[] = [];
  for (const line of unfolded.split(/\r?\n/)) {
    const m = /^from:(.*)$/i.exec(line);
    if (!m) continue;
    for (const a of addressparser(m[1]!, { flatten: true })) if ('address' in a && a.address) out.push(a.address);
  }
  return out;
}

