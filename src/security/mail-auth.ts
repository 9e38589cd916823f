/**
 * SPF, DKIM, DMARC and ARC for mail coming in on port 25 (what OpenDKIM, OpenDMARC and
 * policyd-spf did in the seeds), with mailauth. The result is one `Authentication-Results`
 * header (RFC 8601) plus `Received-SPF`, put on top of the message, and a verdict:
 *  - DMARC fail with policy `reject` (applied to pct% of mail, RFC 7489 6.6.4) is refused, when
 *    `dmarcReject` is on (OpenDMARC's RejectFailures);
 *  - SPF `fail` is refused only when `spfReject` is on (policyd-spf's Mail_From_reject);
 *  - if any of the lookups failed temporarily and the message would have been refused, the
 *    refusal is a temporary one (`dns`): a DNS outage must never turn into a bounce.
 * Forged Authentication-Results are removed before the checks, as the message streams in
 * (protocols/smtp/incoming-headers.ts, with the same hostname as authserv-id).
 * Every DNS question goes through the one Resolver (tests give fixed records).
 *
 * mailauth is loaded at the first check, not at start: it weighs ~29 MB of a daemon's memory
 * (bench/RESULTS.md, memory footprint), which a server that only takes mail from mynetworks, or
 * has verify_sender_auth off, never needs.
 */
import type { Readable } from 'node:stream';
import type { DNSResolver } from 'mailauth';
import { TempFailure } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { RecordType, Resolver } from '../core/resolver.js';
import type { AuthContext, AuthRefusal, AuthVerdict, SenderAuthenticator } from './types.js';

export interface AuthPolicy {
  dmarcReject: boolean;
  spfReject: boolean;
}

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

export class MessageAuthenticator implements SenderAuthenticator {
  private readonly resolve: DNSResolver;
  private library: Promise<typeof import('mailauth')> | undefined;

  constructor(
    resolver: Resolver,
    private readonly hostname: string,
    private readonly policy: AuthPolicy,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {
    this.resolve = mailauthResolver(resolver);
  }

  /** Loads mailauth now, before a root-started daemon switches users (Daemon's beforeDrop). */
  async preload(): Promise<void> {
    this.library ??= import('mailauth');
    await this.library;
  }

  async check(message: Buffer | NodeJS.ReadableStream, ctx: AuthContext): Promise<AuthVerdict> {
    this.library ??= import('mailauth');
    const { authenticate } = await this.library;
    const res = await authenticate(message as Buffer | Readable, {
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
    let refusal: AuthRefusal | null = null;
    if (this.policy.dmarcReject && res.dmarc && dmarc === 'fail' && res.dmarc.policy === 'reject' && this.sampled(res.dmarc.pct)) {
      refusal = { kind: 'dmarc', domain: res.dmarc.domain };
    } else if (this.policy.spfReject && spf === 'fail') {
      refusal = { kind: 'spf', identity: ctx.sender || ctx.helo };
    } else if (this.policy.dmarcReject && res.dmarc && res.dmarc.policy === 'reject' && dmarc !== 'pass' && temp) {
      // A temperror may be hiding a pass: let the sender try again rather than deliver or bounce.
      refusal = { kind: 'dns' };
    }
    if (refusal && temp) refusal = { kind: 'dns' };
    this.log.debug({ ...summary, refusal: refusal?.kind }, 'message authentication');
    return { headers: res.headers, refusal, summary };
  }

  private sampled(pct: unknown): boolean {
    const p = typeof pct === 'number' ? pct : 100;
    return p >= 100 || this.random() * 100 < p;
  }
}
