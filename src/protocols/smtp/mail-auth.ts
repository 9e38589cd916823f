/**
 * SPF, DKIM, DMARC and ARC for mail coming in on port 25 (what OpenDKIM, OpenDMARC and
 * policyd-spf did in the seeds), with mailauth. The result is one `Authentication-Results`
 * header (RFC 8601) plus `Received-SPF`, put on top of the message, and a verdict:
 *  - DMARC fail with policy `reject` (applied to pct% of mail, RFC 7489 6.6.4) → `550 5.7.1`,
 *    when `dmarcReject` is on (OpenDMARC's RejectFailures);
 *  - SPF `fail` → `550 5.7.23` only when `spfReject` is on (policyd-spf's Mail_From_reject);
 *  - if any of the lookups failed temporarily and the message would have been refused, the
 *    answer is `451 4.4.3`: a DNS outage must never turn into a bounce.
 * Every DNS question goes through the one Resolver (tests give fixed records).
 */
import { authenticate, type DNSResolver } from 'mailauth';
import { TempFailure } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { RecordType, Resolver } from '../../core/resolver.js';
import type { SmtpReply } from './replies.js';

export interface AuthPolicy {
  dmarcReject: boolean;
  spfReject: boolean;
}

export interface AuthContext {
  ip: string;
  /** The HELO/EHLO name. */
  helo: string;
  /** MAIL FROM ('' for the null sender). */
  sender: string;
}

export interface AuthVerdict {
  /** CRLF-terminated header lines for the top of the message. */
  headers: string;
  /** A refusal, or null to deliver. */
  reject: SmtpReply | null;
  /** Short results for the log. */
  summary: { spf: string; dkim: string; dmarc: string; arc: string };
}

const DNS_TROUBLE: SmtpReply = { code: 451, text: '4.4.3 Temporary DNS failure while checking the sender, try again later' };

const TYPES = new Set<RecordType>(['MX', 'A', 'AAAA', 'TXT', 'PTR']);

/** mailauth asks like dns.promises.resolve and expects its error codes. */
function mailauthResolver(resolver: Resolver): DNSResolver {
  // MX answers are {exchange, priority} objects, which mailauth's type does not spell out.
  return (async (name: string, rrtype: string): Promise<unknown[]> => {
    const type = rrtype.toUpperCase() as RecordType;
    const fail = (code: string) => Object.assign(new Error(`${code} ${rrtype} ${name}`), { code });
    if (!TYPES.has(type)) throw fail('ENOTFOUND');
    let records: string[];
    try {
      records = await resolver.lookup(name, type);
    } catch (err) {
      if (err instanceof TempFailure) throw fail('ETIMEOUT');
      throw err;
    }
    if (!records.length) throw fail('ENOTFOUND');
    if (type === 'TXT') return records.map((r) => [r]);
    if (type === 'MX') {
      const hosts = records.filter((exchange) => exchange !== ''); // a null MX names no host
      if (!hosts.length) throw fail('ENODATA');
      return hosts.map((exchange, priority) => ({ exchange, priority }));
    }
    return records;
  }) as DNSResolver;
}

export class MessageAuthenticator {
  private readonly resolve: DNSResolver;

  constructor(
    resolver: Resolver,
    private readonly hostname: string,
    private readonly policy: AuthPolicy,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {
    this.resolve = mailauthResolver(resolver);
  }

  async check(message: Buffer | NodeJS.ReadableStream, ctx: AuthContext): Promise<AuthVerdict> {
    const res = await authenticate(message as Buffer | import('node:stream').Readable, {
      ip: ctx.ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, ''),
      helo: ctx.helo,
      sender: ctx.sender || undefined,
      mta: this.hostname,
      resolver: this.resolve,
      disableBimi: true,
    });
    const spf = res.spf ? res.spf.status.result : 'none';
    const dkimResults = (res.dkim?.results ?? []).map((r) => r.status.result);
    const dkim = dkimResults.length ? dkimResults.join(',') : 'none';
    const dmarc = res.dmarc ? res.dmarc.status.result : 'none';
    const arc = res.arc ? res.arc.status.result : 'none';
    const summary = { spf, dkim, dmarc, arc };
    const temp = spf === 'temperror' || dkimResults.includes('temperror') || dmarc === 'temperror';
    let reject: SmtpReply | null = null;
    if (this.policy.dmarcReject && res.dmarc && dmarc === 'fail' && res.dmarc.policy === 'reject' && this.sampled(res.dmarc.pct)) {
      reject = { code: 550, text: `5.7.1 Rejected by DMARC policy for ${res.dmarc.domain}` };
    } else if (this.policy.spfReject && spf === 'fail') {
      reject = { code: 550, text: `5.7.23 Message rejected due to: SPF fail - not authorized (${ctx.sender || ctx.helo})` };
    } else if (this.policy.dmarcReject && res.dmarc && res.dmarc.policy === 'reject' && dmarc !== 'pass' && temp) {
      // A temperror may be hiding a pass: let the sender try again rather than deliver or bounce.
      reject = DNS_TROUBLE;
    }
    if (reject && temp && reject.code >= 500) {
      reject = DNS_TROUBLE;
    }
    this.log.debug({ ...summary, reject: reject?.code }, 'message authentication');
    return { headers: res.headers, reject, summary };
  }

  private sampled(pct: unknown): boolean {
    const p = typeof pct === 'number' ? pct : 100;
    return p >= 100 || this.random() * 100 < p;
  }
}
