/**
 * SMTP for other mail servers (port 25), with the restrictions of the seeds' main.cf:
 *  - mail only for our domains and existing addresses (reject_unlisted_recipient, 550 5.1.1);
 *    anything else is relaying: `554 5.7.1 Relay access denied` (reject_unauth_destination),
 *    except for clients in mynetworks, whose relayed mail goes to the outbound spool;
 *  - HELO required; invalid or non-FQDN HELO names, non-FQDN senders and recipients, unknown
 *    sender domains, senders in rejected TLDs (check_sender_access) and clients on DNS
 *    blocklists (reject_rbl_client) refused, all at RCPT time as Postfix does with
 *    smtpd_delay_reject = yes; clients in mynetworks skip these checks (permit_mynetworks);
 *  - smtpd_recipient_limit, per-client rate limits, SIZE (552 5.3.4 at MAIL and while the data
 *    streams in), STARTTLS offered with the server certificate, no AUTH on this port, no VRFY;
 *  - at the end of DATA: SPF/DKIM/DMARC/ARC (mail-auth.ts) for clients outside mynetworks, bcc
 *    maps, then `Authentication-Results` and `Received:` on top and delivery; `250` only when the
 *    message is durable for every recipient, else `451 4.3.0` (nothing is half-accepted).
 */
import type net from 'node:net';
import type tls from 'node:tls';
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { isFqdn, isValidDomain, parseAddress } from '../../core/address.js';
import type { NetworkList } from '../../core/cidr.js';
import type { Resolver } from '../../core/resolver.js';
import type { Logger } from '../../core/logger.js';
import { StagedMessage } from '../../core/staged-message.js';
import type { DeliveryService } from '../../delivery/types.js';
import { AdaptedSmtpServer, type SessionLimits } from './server-adapter.js';
import { drain } from './data-stream.js';
import { receivedHeader } from './received.js';
import { type SmtpReply, TEMP_FAILURE, answer, answerData, replyError } from './replies.js';
import { type OutboundSpool, Routing } from './routing.js';
import type { BccMaps } from './bcc.js';
import type { Dnsbl } from './dnsbl.js';
import type { MessageAuthenticator } from './mail-auth.js';
import { stripOwnAuthResults } from './forged-auth-results.js';

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
  /** Per client IP; 0 = no limit; mynetworks exempt. Rates count within the counters' window. */
  connectionLimit: number;
  messageRateLimit: number;
  recipientRateLimit: number;
}

/** Events per key in a time window (security/rate-window.ts). */
export interface RateCounter {
  /** Records one event; returns the count in the window, this one included. */
  hit(key: string): number;
}

export interface MxOptions {
  /** smtpd_timeout and max clients (server-adapter.ts). */
  limits?: SessionLimits;
  hostname: string;
  maxMessageSize: number;
  policy: MxPolicy;
  delivery: DeliveryService;
  /** Relayed mail from mynetworks. */
  spool: OutboundSpool;
  resolver: Resolver;
  /** reject_rbl_client zones (none: no lookups). */
  dnsbl?: Dnsbl;
  /** sender_bcc_maps / recipient_bcc_maps. */
  bcc?: BccMaps;
  /** SPF/DKIM/DMARC/ARC; absent: no checks, no Authentication-Results. */
  authenticator?: MessageAuthenticator;
  messageRate: RateCounter;
  recipientRate: RateCounter;
  /** Certificate options for STARTTLS, and a way to be told of new ones (SIGHUP). */
  tls: () => tls.TlsOptions;
  attachTls: (server: { setSecureContext(o: tls.SecureContextOptions): void }) => void;
  log: Logger;
  now?: () => Date;
}

const RELAY_DENIED: SmtpReply = { code: 554, text: '5.7.1 Relay access denied' };
const TOO_MANY: SmtpReply = { code: 452, text: '4.5.3 Error: too many recipients' };
const TOO_MANY_CONNECTIONS: SmtpReply = { code: 421, text: '4.7.0 Error: too many connections from your address' };
const MESSAGE_RATE: SmtpReply = { code: 450, text: '4.7.1 Error: too much mail from your address' };
const RECIPIENT_RATE: SmtpReply = { code: 450, text: '4.7.1 Error: too many recipients from your address' };

interface Transaction {
  routing: Routing;
  /** The sender-domain verdict, looked up once per transaction. */
  senderDomain?: Promise<SmtpReply | null>;
}

export class MxService {
  private readonly server: AdaptedSmtpServer;
  private readonly txs = new WeakMap<SMTPServerSession, Transaction>();
  /** Open connections per client IP (smtpd_client_connection_count_limit). */
  private readonly open = new Map<string, number>();
  /** The DNSBL verdict, looked up once per connection. */
  private readonly listed = new WeakMap<SMTPServerSession, Promise<SmtpReply | null>>();

  constructor(private readonly opts: MxOptions) {
    const server = new AdaptedSmtpServer({
      ...opts.tls(),
      name: opts.hostname,
      banner: 'tsmail',
      size: opts.maxMessageSize,
      disabledCommands: ['AUTH', 'VRFY'], // no AUTH on port 25; disable_vrfy_command = yes
      hideENHANCEDSTATUSCODES: false,
      hideDSN: false,
      disableReverseLookup: true,
      logger: false,
      onConnect: (session, cb) => {
        const ip = session.remoteAddress;
        const n = (this.open.get(ip) ?? 0) + 1;
        this.open.set(ip, n);
        const limit = opts.policy.connectionLimit;
        if (limit > 0 && n > limit && !this.trusted(session)) return cb(replyError(TOO_MANY_CONNECTIONS));
        cb();
      },
      onClose: (session) => {
        const n = (this.open.get(session.remoteAddress) ?? 1) - 1;
        if (n > 0) this.open.set(session.remoteAddress, n);
        else this.open.delete(session.remoteAddress);
      },
      onMailFrom: (address, session, cb) => {
        const limit = opts.policy.messageRateLimit;
        if (limit > 0 && !this.trusted(session) && opts.messageRate.hit(session.remoteAddress) > limit) return cb(replyError(MESSAGE_RATE));
        const routing = new Routing(opts.delivery, opts.spool, address.address, session, opts.log);
        this.txs.set(session, { routing });
        cb();
      },
      onRcptTo: (address, session, cb) => {
        answer(this.rcpt(address, session), cb);
      },
      onData: (stream, session, cb) => {
        answerData(this.data(stream, session), cb);
      },
    }, opts.limits);
    // smtp-server's own copy of the TLS options is what STARTTLS uses: keep it current.
    opts.attachTls({ setSecureContext: (o) => server.updateSecureContext(o) });
    server.on('error', (err) => opts.log.debug({ err: err.message }, 'smtp session error'));
    this.server = server;
  }

  handle(socket: net.Socket, adopt?: (replacement: net.Socket) => void): void {
    this.server.accept(socket, adopt);
  }

  private trusted(session: SMTPServerSession): boolean {
    return this.opts.policy.mynetworks.has(session.remoteAddress);
  }

  /** Postfix smtpd_helo_restrictions, evaluated at RCPT (smtpd_delay_reject = yes). */
  private heloReply(session: SMTPServerSession): SmtpReply | null {
    const p = this.opts.policy;
    const helo = session.hostNameAppearsAs ?? '';
    if (this.trusted(session)) return null;
    if (p.heloRequired && !helo) return { code: 503, text: '5.5.1 Error: send HELO/EHLO first' };
    const literal = /^\[[0-9a-fA-F:.]+\]$/.test(helo) || /^\[IPv6:[0-9a-fA-F:.]+\]$/i.test(helo);
    if (literal) return null;
    if (p.rejectInvalidHelo && !isValidDomain(helo.toLowerCase())) return { code: 501, text: `5.5.2 <${helo}>: Helo command rejected: Invalid name` };
    if (p.rejectNonFqdnHelo && !isFqdn(helo.toLowerCase())) return { code: 504, text: `5.5.2 <${helo}>: Helo command rejected: need fully-qualified hostname` };
    return null;
  }

  private async rcpt(address: SMTPServerAddress, session: SMTPServerSession): Promise<SmtpReply | null> {
    const t = this.txs.get(session);
    if (!t) return TEMP_FAILURE;
    const p = this.opts.policy;
    const trusted = this.trusted(session);
    if (t.routing.count >= p.recipientLimit) return TOO_MANY;
    if (p.recipientRateLimit > 0 && !trusted && this.opts.recipientRate.hit(session.remoteAddress) > p.recipientRateLimit) return RECIPIENT_RATE;
    const helo = this.heloReply(session);
    if (helo) return helo;
    if (!trusted) {
      const sender = await this.senderReply(t);
      if (sender) return sender;
      const listed = await this.listedReply(session);
      if (listed) return listed;
    }
    if (p.rejectNonFqdnRecipient && !fqdnAddress(address.address)) {
      return { code: 504, text: `5.5.2 <${address.address}>: Recipient address rejected: need fully-qualified address` };
    }
    // permit_mynetworks before reject_unauth_destination: our own networks may relay.
    return t.routing.add(address, trusted, RELAY_DENIED);
  }

  /** smtpd_sender_restrictions: reject_non_fqdn_sender, rejected TLDs, reject_unknown_sender_domain. */
  private async senderReply(t: Transaction): Promise<SmtpReply | null> {
    const p = this.opts.policy;
    const sender = t.routing.sender;
    if (sender === '') return null;
    if (p.rejectNonFqdnSender && !fqdnAddress(sender)) {
      return { code: 504, text: `5.5.2 <${sender}>: Sender address rejected: need fully-qualified address` };
    }
    const domain = sender.slice(sender.lastIndexOf('@') + 1).toLowerCase().replace(/\.$/, '');
    if (p.rejectSenderTlds.some((tld) => domain === tld || domain.endsWith(`.${tld}`))) {
      return { code: 554, text: `5.7.1 <${sender}>: Sender address rejected: Access denied` };
    }
    if (p.rejectUnknownSenderDomain) {
      t.senderDomain ??= this.checkSenderDomain(sender);
      return t.senderDomain;
    }
    return null;
  }

  /** reject_rbl_client, once per connection; Postfix's wording. */
  private listedReply(session: SMTPServerSession): Promise<SmtpReply | null> {
    const dnsbl = this.opts.dnsbl;
    if (!dnsbl?.enabled) return Promise.resolve(null);
    let verdict = this.listed.get(session);
    if (!verdict) {
      const ip = session.remoteAddress;
      verdict = dnsbl.check(ip).then((hit) => {
        if (!hit) return null;
        this.opts.log.info({ session: session.id, ip, zone: hit.zone, answer: hit.answer }, 'client on DNS blocklist');
        return { code: 554, text: `5.7.1 Service unavailable; Client host [${ip}] blocked using ${hit.zone}` };
      });
      this.listed.set(session, verdict);
    }
    return verdict;
  }

  /**
   * Postfix reject_unknown_sender_domain: no MX and no A/AAAA record → 550 5.1.8 (seed 001's
   * unknown_address_reject_code); a DNS failure is never a reason to bounce: 450 4.1.8.
   */
  private async checkSenderDomain(sender: string): Promise<SmtpReply | null> {
    const domain = sender.slice(sender.lastIndexOf('@') + 1).toLowerCase();
    if (domain.startsWith('[')) return null; // address literal
    try {
      const mx = await this.opts.resolver.lookup(domain, 'MX');
      if (mx.length === 1 && mx[0] === '') {
        return { code: 550, text: `5.7.27 <${sender}>: Sender address rejected: Domain ${domain} does not accept mail (nullMX)` };
      }
      if (mx.length) return null;
      for (const type of ['A', 'AAAA'] as const) {
        if ((await this.opts.resolver.lookup(domain, type)).length) return null;
      }
      return { code: 550, text: `5.1.8 <${sender}>: Sender address rejected: Domain not found` };
    } catch (err) {
      this.opts.log.warn({ domain, err: (err as Error).message }, 'sender domain lookup failed');
      return { code: 450, text: `4.1.8 <${sender}>: Sender address rejected: Domain not found (DNS temporary failure)` };
    }
  }

  private async data(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<SmtpReply> {
    const t = this.txs.get(session);
    this.txs.delete(session);
    if (!t) {
      await drain(stream);
      return TEMP_FAILURE;
    }
    const { routing } = t;
    // Clients in mynetworks are not checked (OpenDKIM InternalHosts, policyd-spf skip_addresses).
    const auth = this.trusted(session) ? undefined : this.opts.authenticator;
    const staged = await routing.stage(stream, this.opts.maxMessageSize, auth ? stripOwnAuthResults(this.opts.hostname) : undefined);
    if (!(staged instanceof StagedMessage)) return staged;
    try {
      let head = this.received(session, routing);
      if (auth) {
        const verdict = await auth.check(staged.buffer() ?? staged.stream(), {
          ip: session.remoteAddress, helo: session.hostNameAppearsAs ?? '', sender: routing.sender,
        });
        this.opts.log.info({ session: session.id, from: routing.sender, ...verdict.summary }, 'sender authentication');
        if (verdict.reject) return verdict.reject;
        head = verdict.headers + head;
      }
      await routing.addBlindCopies(this.opts.bcc);
      const reply = await routing.commit(staged, head);
      this.opts.log.info({ session: session.id, from: routing.sender, local: routing.local, remote: routing.remote, ok: reply.code === 250 }, 'smtp delivery');
      return reply;
    } catch (err) {
      this.opts.log.warn({ session: session.id, err: (err as Error).message }, 'message not taken');
      return TEMP_FAILURE;
    } finally {
      await staged.dispose();
    }
  }

  private received(session: SMTPServerSession, routing: Routing): string {
    const all = routing.recipients;
    const forRecipient = all.length === 1 ? all[0] : undefined;
    return receivedHeader(session, this.opts.hostname, { forRecipient, date: this.opts.now?.() ?? new Date() });
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
