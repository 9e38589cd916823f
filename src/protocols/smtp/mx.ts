/**
 * SMTP for other mail servers (port 25), with the restrictions of the seeds' main.cf:
 *  - mail only for our domains and existing addresses (reject_unlisted_recipient, 550 5.1.1);
 *    anything else is relaying: `554 5.7.1 Relay access denied` (reject_unauth_destination),
 *    except for clients in mynetworks, whose relayed mail goes to the outbound spool;
 *  - HELO required; invalid or non-FQDN HELO names, non-FQDN senders and recipients, unknown
 *    sender domains, senders in rejected TLDs (check_sender_access) and clients on DNS
 *    blocklists (reject_rbl_client) refused, all at RCPT time as Postfix does with
 *    smtpd_delay_reject = yes; clients in mynetworks skip these checks (permit_mynetworks);
 *  - a recipient whose quota cannot take the announced SIZE= is refused at RCPT (the seeds'
 *    check_policy_service quota-status);
 *  - `RCPT TO:<postmaster>` without a domain taken for postmaster@$mydomain, past the
 *    restrictions (RFC 5321 4.5.1); local parts no mailbox can have are a syntax error
 *    (envelope-address.ts);
 *  - smtpd_recipient_limit (every RCPT counts, server-adapter.ts), Postfix's error limits
 *    (error-limits.ts), per-client rate limits, SIZE (552 5.3.4 at MAIL and while the data
 *    streams in), STARTTLS offered with the server certificate, no AUTH on this port, no VRFY,
 *    an optional greet pause (postscreen's pregreet test);
 *  - while DATA streams in, the header section is cleaned as Postfix's cleanup does
 *    (incoming-headers.ts: message_drop_headers, forged Authentication-Results, hopcount_limit);
 *  - at the end of DATA: SPF/DKIM/DMARC/ARC (security/) for clients outside mynetworks, bcc
 *    maps, then `Authentication-Results` and `Received:` on top and delivery; `250` only when the
 *    message is durable for every recipient, else `451 4.3.0` (nothing is half-accepted).
 */
import type { SMTPServerAddress, SMTPServerDataStream } from 'smtp-server';
import { isFqdn, isValidDomain, parseAddress } from '../../core/address.js';
import type { NetworkList } from '../../core/cidr.js';
import { TempFailure } from '../../core/errors.js';
import type { RoutedTransaction, TransactionRouter } from '../../delivery/types.js';
import type { BlocklistCheck, RateCounter, SenderAuthenticator, SenderDomainCheck } from '../../security/types.js';
import { badLocalPart, isBarePostmaster, postmasterAddress, postmasterRefusal } from './envelope-address.js';
import { receivedHeader } from './received.js';
import type { Refusal, SmtpReply } from './replies.js';
import type { SessionLimits } from './server-adapter.js';
import { type SmtpContext, SmtpService, type SmtpServiceOptions, envelopeOf } from './smtp-service.js';

export interface MxPolicy {
  mynetworks: NetworkList;
  recipientLimit: number;
  heloRequired: boolean;
  rejectInvalidHelo: boolean;
  rejectNonFqdnHelo: boolean;
  rejectNonFqdnSender: boolean;
  rejectNonFqdnRecipient: boolean;
  /** reject_unknown_sender_domain: the sender's domain must have an MX or an address record. */
  rejectUnknownSenderDomain: boolean;
  /** check_sender_access with a rejected-TLD table: sender domains ending in these are refused. */
  rejectSenderTlds: readonly string[];
  /**
   * Per client IP; 0 = no limit; mynetworks exempt. Rates count within the counters' window.
   * (The per-IP connection limit is the listener's: daemon/listener.ts, counted from accept.)
   */
  messageRateLimit: number;
  recipientRateLimit: number;
  /** postscreen_greet_wait (ms, 0 = greet at once) and postscreen_greet_action. */
  greetPauseMs?: number;
  greetAction?: 'enforce' | 'drop';
}

export interface MxOptions {
  /** smtpd_timeout and the STARTTLS handshake timeout (server-adapter.ts). */
  limits?: SessionLimits;
  hostname: string;
  maxMessageSize: number;
  policy: MxPolicy;
  /** Local mailboxes, and the spool for relayed mail from mynetworks; bcc maps. */
  router: TransactionRouter;
  /** reject_unknown_sender_domain (DNS, skipping our own domains). */
  senderDomains: SenderDomainCheck;
  /** reject_rbl_client zones (none: no lookups). */
  dnsbl?: BlocklistCheck;
  /** SPF/DKIM/DMARC/ARC; absent: no checks, no Authentication-Results. */
  authenticator?: SenderAuthenticator;
  messageRate: RateCounter;
  recipientRate: RateCounter;
  /** Certificate options for STARTTLS, and a way to be told of new ones (SIGHUP). */
  tls: SmtpServiceOptions['tls'];
  log: SmtpServiceOptions['log'];
  sessionIds?: SmtpServiceOptions['sessionIds'];
  now?: () => Date;
}

interface MxTransaction {
  routing: RoutedTransaction;
  /** The sender-domain verdict, looked up once per transaction. */
  senderDomain?: Promise<Refusal | null>;
}

export class MxService extends SmtpService<MxTransaction> {
  /** The DNSBL verdict, looked up once per connection. */
  private readonly listed = new WeakMap<SmtpContext<MxTransaction>, Promise<Refusal | null>>();
  /** Where `RCPT TO:<postmaster>` goes. */
  private readonly postmaster: string;

  constructor(private readonly opts: MxOptions) {
    const p = opts.policy;
    super(
      {
        hostname: opts.hostname,
        banner: 'tsmail',
        maxMessageSize: opts.maxMessageSize,
        limits: {
          ...(opts.limits ?? { timeoutMs: 300_000 }),
          maxRecipients: p.recipientLimit,
          ...(p.greetPauseMs ? { greetPause: { ms: p.greetPauseMs, action: p.greetAction ?? 'enforce', exempt: (ip: string) => p.mynetworks.has(ip) } } : {}),
        },
        tls: opts.tls,
        log: opts.log,
        sessionIds: opts.sessionIds,
      },
      {
        mailFrom: (ctx, address) => this.mailFrom(ctx, address),
        rcptTo: (ctx, address) => this.rcpt(ctx, address),
        data: (ctx, stream) => this.data(ctx, stream),
      },
    );
    this.postmaster = postmasterAddress(opts.hostname);
  }

  private trusted(ctx: SmtpContext<MxTransaction>): boolean {
    return this.opts.policy.mynetworks.has(ctx.session.remoteAddress);
  }

  private async mailFrom(ctx: SmtpContext<MxTransaction>, address: SMTPServerAddress): Promise<Refusal | null> {
    if (badLocalPart(address.address)) return { kind: 'sender-syntax' };
    const limit = this.opts.policy.messageRateLimit;
    if (limit > 0 && !this.trusted(ctx) && this.opts.messageRate.hit(ctx.session.remoteAddress) > limit) return { kind: 'message-rate' };
    ctx.tx = { routing: this.opts.router.begin(envelopeOf(address)) };
    return null;
  }

  /** Postfix smtpd_helo_restrictions, evaluated at RCPT (smtpd_delay_reject = yes). */
  private heloRefusal(ctx: SmtpContext<MxTransaction>): Refusal | null {
    const p = this.opts.policy;
    const helo = ctx.session.hostNameAppearsAs || '';
    if (p.heloRequired && !helo) return { kind: 'helo-required' };
    const literal = /^\[[0-9a-fA-F:.]+\]$/.test(helo) || /^\[IPv6:[0-9a-fA-F:.]+\]$/i.test(helo);
    if (literal) return null;
    if (p.rejectInvalidHelo && !isValidDomain(helo.toLowerCase())) return { kind: 'helo-invalid', helo };
    if (p.rejectNonFqdnHelo && !isFqdn(helo.toLowerCase())) return { kind: 'helo-not-fqdn', helo };
    return null;
  }

  private async rcpt(ctx: SmtpContext<MxTransaction>, address: SMTPServerAddress): Promise<Refusal | null> {
    const t = ctx.tx;
    if (!t) return { kind: 'temp', reason: 'no transaction' };
    if (badLocalPart(address.address)) return { kind: 'recipient-syntax' };
    const p = this.opts.policy;
    const trusted = this.trusted(ctx);
    if (this.talkedEarly(ctx)) return { kind: 'early-talker' };
    if (p.recipientRateLimit > 0 && !trusted && this.opts.recipientRate.hit(ctx.session.remoteAddress) > p.recipientRateLimit) return { kind: 'recipient-rate' };
    if (isBarePostmaster(address.address)) {
      // RFC 5321 4.5.1: always taken for the local postmaster, never relayed.
      const outcome = await t.routing.add({ address: this.postmaster, ...address.dsn }, false);
      return postmasterRefusal(outcome);
    }
    if (!trusted) {
      const refusal = this.heloRefusal(ctx) ?? (await this.senderRefusal(t)) ?? (await this.listedRefusal(ctx));
      if (refusal) return refusal;
    }
    if (p.rejectNonFqdnRecipient && !fqdnAddress(address.address)) return { kind: 'recipient-not-fqdn', address: address.address };
    // permit_mynetworks before reject_unauth_destination: our own networks may relay.
    const outcome = await t.routing.add({ address: address.address, ...address.dsn }, trusted);
    return outcome.kind === 'local' || outcome.kind === 'remote' ? null : outcome;
  }

  /** smtpd_sender_restrictions: reject_non_fqdn_sender, rejected TLDs, reject_unknown_sender_domain. */
  private async senderRefusal(t: MxTransaction): Promise<Refusal | null> {
    const p = this.opts.policy;
    const sender = t.routing.sender;
    if (sender === '') return null;
    if (p.rejectNonFqdnSender && !fqdnAddress(sender)) return { kind: 'sender-not-fqdn', sender };
    const domain = sender.slice(sender.lastIndexOf('@') + 1).toLowerCase().replace(/\.$/, '');
    if (p.rejectSenderTlds.some((tld) => domain === tld || domain.endsWith(`.${tld}`))) return { kind: 'sender-tld', sender };
    if (!p.rejectUnknownSenderDomain) return null;
    t.senderDomain ??= this.checkSenderDomain(sender, domain);
    return t.senderDomain;
  }

  private async checkSenderDomain(sender: string, domain: string): Promise<Refusal | null> {
    try {
      const verdict = await this.opts.senderDomains.check(domain);
      if (verdict === 'null-mx') return { kind: 'sender-domain-null-mx', sender, domain };
      return verdict === 'unknown' ? { kind: 'sender-domain-unknown', sender } : null;
    } catch (err) {
      if (!(err instanceof TempFailure)) throw err;
      this.opts.log.warn({ domain, err: err.message }, 'sender domain lookup failed');
      return { kind: 'sender-domain-dns', sender };
    }
  }

  /** reject_rbl_client, once per connection. */
  private listedRefusal(ctx: SmtpContext<MxTransaction>): Promise<Refusal | null> {
    const dnsbl = this.opts.dnsbl;
    if (!dnsbl?.enabled) return Promise.resolve(null);
    let verdict = this.listed.get(ctx);
    if (!verdict) {
      const ip = ctx.session.remoteAddress;
      verdict = dnsbl.check(ip).then((hit) => {
        if (!hit) return null;
        ctx.log.info({ zone: hit.zone, answer: hit.answer }, 'client on DNS blocklist');
        return { kind: 'blocklisted', ip, zone: hit.zone } as const;
      });
      this.listed.set(ctx, verdict);
    }
    return verdict;
  }

  private async data(ctx: SmtpContext<MxTransaction>, stream: SMTPServerDataStream): Promise<SmtpReply> {
    const t = ctx.tx;
    if (!t) throw new TempFailure('DATA without a transaction');
    // Clients in mynetworks are not checked (OpenDKIM InternalHosts, policyd-spf skip_addresses).
    const auth = this.trusted(ctx) ? undefined : this.opts.authenticator;
    return this.routedData(ctx, stream, {
      routing: t.routing,
      router: this.opts.router,
      // Forged Authentication-Results, message_drop_headers and hops: routedData's header cleanup.
      inspect: async (staged) => {
        const head = this.received(ctx, t.routing);
        if (!auth) return { refusal: null, head };
        const verdict = await auth.check(staged.buffer() ?? staged.stream(), {
          ip: ctx.session.remoteAddress, helo: ctx.session.hostNameAppearsAs || '', sender: t.routing.sender,
        });
        ctx.log.info({ from: t.routing.sender, ...verdict.summary }, 'sender authentication');
        return { refusal: verdict.refusal ? { kind: 'sender-auth', refusal: verdict.refusal } : null, head: verdict.headers + head };
      },
    });
  }

  private received(ctx: SmtpContext<MxTransaction>, routing: RoutedTransaction): string {
    const all = routing.recipients;
    const forRecipient = all.length === 1 ? all[0] : undefined;
    return receivedHeader(ctx.session, this.opts.hostname, { forRecipient, date: this.opts.now?.() ?? new Date() });
  }
}

/** reject_non_fqdn_*: user@domain with a fully qualified domain (or an address literal). */
function fqdnAddress(address: string): boolean {
  try {
    const { domain } = parseAddress(address);
    return isFqdn(domain);
  } catch {
    return /@\[[0-9a-fA-F:.]+\]$/.test(address);
  }
}
