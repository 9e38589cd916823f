/**
 * Submission for users: port 587 (STARTTLS) and 465 (implicit TLS), as the seeds' master.cf
 * `submission`/`smtps` services: AUTH PLAIN/LOGIN only over TLS (`538 5.7.11` before it), MAIL
 * only after AUTH (`530 5.7.0`), and the authenticated user may only send as its own addresses
 * and aliases — envelope sender and every From and Sender header field (Postfix
 * reject_sender_login_mismatch, `553 5.7.1`); a message without From gets one from the envelope
 * sender, as Postfix's cleanup adds it. `RCPT TO:<postmaster>` goes to the local postmaster;
 * addresses no mailbox can have are a syntax error (envelope-address.ts).
 *
 * The message is first staged and its headers checked, then stored for local recipients
 * and in the durable outbound spool for the others, with bcc maps applied (smtp-service.ts
 * routedData); `250` comes only when both are durable.
 */
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { TempFailure } from '../../core/errors.js';
import type { RoutedTransaction, TransactionRouter } from '../../delivery/types.js';
import type { UserDirectory } from '../../directory/types.js';
import type { LoginAttempt, LoginService, LoginSession } from '../sasl/login-service.js';
import { badLocalPart, isBarePostmaster, postmasterAddress, postmasterRefusal } from './envelope-address.js';
import type { HeaderFacts } from './incoming-headers.js';
import { receivedHeader } from './received.js';
import type { Refusal, SmtpReply } from './replies.js';
import type { SessionLimits } from './server-adapter.js';
import { type SmtpContext, SmtpService, type SmtpServiceOptions, envelopeOf } from './smtp-service.js';

export interface SubmissionOptions {
  /** smtpd_timeout, TLS handshake timeout, error limits and smtpd_recipient_limit (server-adapter.ts). */
  limits?: SessionLimits;
  hostname: string;
  maxMessageSize: number;
  /** true for 465: the socket is TLS from the start. */
  implicitTls: boolean;
  rejectSenderLoginMismatch: boolean;
  /** The login path shared with IMAP and POP3: bans, failure counts and delays (sasl/login-service.ts). */
  login: LoginService;
  directory: UserDirectory;
  /** Local mailboxes, the outbound spool and bcc maps. */
  router: TransactionRouter;
  tls: SmtpServiceOptions['tls'];
  log: SmtpServiceOptions['log'];
  sessionIds?: SmtpServiceOptions['sessionIds'];
  now?: () => Date;
}

export class SubmissionService extends SmtpService<RoutedTransaction> {
  /** Where `RCPT TO:<postmaster>` goes. */
  private readonly postmaster: string;
  /** Each session's login state, from connect to close. */
  private readonly logins = new WeakMap<SMTPServerSession, LoginSession>();

  constructor(private readonly opts: SubmissionOptions) {
    super(
      {
        hostname: opts.hostname,
        banner: 'tsmail submission',
        maxMessageSize: opts.maxMessageSize,
        limits: opts.limits,
        implicitTls: opts.implicitTls,
        tls: opts.tls,
        auth: true,
        // RFC 4954 5: the AUTH parameter of MAIL FROM, which Postfix takes on submission.
        extraMailParameters: ['AUTH'],
        log: opts.log,
        sessionIds: opts.sessionIds,
      },
      {
        connect: (ctx) => this.connect(ctx),
        close: (ctx) => this.logins.get(ctx.session)?.close(),
        auth: (ctx, attempt) => this.auth(ctx, attempt),
        mailFrom: (ctx, address) => this.mailFrom(ctx, address),
        rcptTo: (ctx, address) => this.rcpt(ctx, address),
        data: (ctx, stream) => this.data(ctx, stream),
      },
    );
    this.postmaster = postmasterAddress(opts.hostname);
  }

  private connect(ctx: SmtpContext<RoutedTransaction>): Refusal | null {
    const ip = ctx.session.remoteAddress;
    if (this.opts.login.isBanned(ip)) {
      ctx.log.info('refused: banned after failed logins');
      return { kind: 'banned' };
    }
    // Banned later by failures on any connection of this IP: this one closes too.
    this.logins.set(ctx.session, this.opts.login.open(ip, () => {
      ctx.log.info('closed: client banned after failed logins');
      this.disconnect(ctx, { kind: 'banned' });
    }));
    return null;
  }

  private async auth(ctx: SmtpContext<RoutedTransaction>, attempt: LoginAttempt): Promise<string | Refusal> {
    const session = this.logins.get(ctx.session);
    if (!session) return { kind: 'auth-temp' };
    const name = attempt.kind === 'credentials' ? attempt.credentials.username : attempt.username;
    const result = await session.attempt(attempt);
    switch (result.kind) {
      case 'ok':
        ctx.log.info({ user: result.user.user }, 'submission login');
        return result.user.user;
      case 'failed':
        ctx.log.warn({ user: name, reason: result.reason }, 'submission login failed');
        return result.disconnect ? { kind: 'too-many-errors', hostname: this.opts.hostname } : { kind: 'auth-failed' };
      case 'temp':
        ctx.log.warn({ user: name }, 'submission login: directory unavailable');
        return { kind: 'auth-temp' };
      case 'banned':
        ctx.log.info({ user: name }, 'refused: banned after failed logins');
        return { kind: 'banned' };
    }
  }

  private async mailFrom(ctx: SmtpContext<RoutedTransaction>, address: SMTPServerAddress): Promise<Refusal | null> {
    if (badLocalPart(address.address)) return { kind: 'sender-syntax' };
    const user = ctx.session.user as string;
    if (address.address !== '' && this.opts.rejectSenderLoginMismatch) {
      const mismatch = await this.notOwned(user, [address.address]);
      if (mismatch) return mismatch;
    }
    ctx.tx = this.opts.router.begin(envelopeOf(address));
    return null;
  }

  /** reject_sender_login_mismatch: every address must be the user's own or an alias of it. */
  private async notOwned(user: string, addresses: string[]): Promise<Refusal | null> {
    for (const address of addresses) {
      let owned: boolean;
      try {
        owned = await this.opts.directory.ownsAddress(user, address);
      } catch (err) {
        if (err instanceof TempFailure) throw err;
        owned = false; // an address the directory cannot even parse is nobody's
      }
      if (!owned) return { kind: 'sender-not-owned', address, user };
    }
    return null;
  }

  private async rcpt(ctx: SmtpContext<RoutedTransaction>, address: SMTPServerAddress): Promise<Refusal | null> {
    const routing = ctx.tx;
    if (!routing) return { kind: 'temp', reason: 'no transaction' };
    if (badLocalPart(address.address)) return { kind: 'recipient-syntax' };
    if (isBarePostmaster(address.address)) {
      // RFC 5321 4.5.1: the local postmaster, never relayed.
      const outcome = await routing.add({ address: this.postmaster, ...address.dsn }, false);
      return postmasterRefusal(outcome);
    }
    // permit_sasl_authenticated: mail for other domains goes to the outbound spool.
    const outcome = await routing.add({ address: address.address, ...address.dsn }, true);
    return outcome.kind === 'local' || outcome.kind === 'remote' ? null : outcome;
  }

  private async data(ctx: SmtpContext<RoutedTransaction>, stream: SMTPServerDataStream): Promise<SmtpReply> {
    const routing = ctx.tx;
    if (!routing) throw new TempFailure('DATA without a transaction');
    const user = ctx.session.user as string;
    return this.routedData(ctx, stream, {
      routing,
      router: this.opts.router,
      // Postfix cleanup's missing From: (the null sender is MAILER-DAEMON's, qualified with our name).
      missingFrom: routing.sender || `MAILER-DAEMON@${this.opts.hostname}`,
      inspect: async (_staged, headers) => ({
        refusal: this.opts.rejectSenderLoginMismatch ? await this.headerSenderRefusal(user, headers) : null,
        head: receivedHeader(ctx.session, this.opts.hostname, { user, date: this.opts.now?.() ?? new Date() }),
      }),
    });
  }

  /**
   * reject_sender_login_mismatch for the header: every address of every From and Sender field
   * (the whole section, obsolete syntax included: incoming-headers.ts) must be the user's, and a
   * field whose address cannot be read is refused, as what cannot be checked cannot be allowed.
   * A From added for a message without one is the envelope sender's, checked at MAIL FROM.
   */
  private async headerSenderRefusal(user: string, headers: HeaderFacts): Promise<Refusal | null> {
    if (headers.unparsable !== null) return { kind: 'sender-header-unparsable', field: headers.unparsable };
    return this.notOwned(user, [...headers.senders]);
  }
}
