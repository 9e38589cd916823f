/**
 * Postfix reject_unknown_sender_domain: "Reject the request when Postfix is not final destination
 * for the sender address, and the MAIL FROM domain has 1) no DNS MX and no DNS address record,
 * or 2) a malformed MX record such as a record with a zero-length MX hostname" (postconf(5)).
 * A null MX (RFC 7505) says the domain sends no mail either. Domains we are final destination
 * for (our mailbox and alias domains) are never looked up: they need no public DNS, and a local
 * sender costs no lookups.
 */
import type { Resolver } from '../core/resolver.js';
import type { SenderDomainCheck } from './types.js';

export interface FinalDestination {
  /** Our mailbox domains and alias domains (the directory's isLocalDomain). */
  isLocalDomain(domain: string): Promise<boolean>;
}

export class DnsSenderDomainCheck implements SenderDomainCheck {
  constructor(private readonly resolver: Resolver, private readonly local: FinalDestination) {}

  /** TempFailure when DNS or the directory cannot answer now. */
  async check(domain: string): Promise<'ok' | 'unknown' | 'null-mx'> {
    const name = domain.toLowerCase().replace(/\.$/, '');
    if (name.startsWith('[')) return 'ok'; // address literal
    if (await this.local.isLocalDomain(name)) return 'ok';
    const mx = await this.resolver.lookup(name, 'MX');
    if (mx.length === 1 && mx[0] === '') return 'null-mx';
    if (mx.length) return 'ok';
    for (const type of ['A', 'AAAA'] as const) {
      if ((await this.resolver.lookup(name, type)).length) return 'ok';
    }
    return 'unknown';
  }
}
