/**
 * reject_rbl_client: the client's address looked up in DNS blocklists (zen.spamhaus.org style:
 * the reversed address under the zone, an A record in 127.0.0.0/8 means listed). A zone may be
 * written `zone=127.0.0.2` to count only that answer, as Postfix allows.
 *
 * A lookup that fails (timeout, SERVFAIL) counts as not listed: a blocklist outage must not stop
 * all mail, and Postfix likewise skips a list it cannot reach.
 */
import net from 'node:net';
import type { Logger } from '../core/logger.js';
import type { Resolver } from '../core/resolver.js';
import type { BlocklistCheck } from './types.js';

export interface DnsblHit {
  zone: string;
  answer: string;
}

export class Dnsbl implements BlocklistCheck {
  private readonly zones: { zone: string; only?: string }[];

  constructor(zones: readonly string[], private readonly resolver: Resolver, private readonly log: Logger) {
    this.zones = zones.map((z) => {
      const [zone, only] = z.split('=', 2) as [string, string | undefined];
      return { zone: zone.toLowerCase().replace(/\.$/, ''), only };
    });
  }

  get enabled(): boolean {
    return this.zones.length > 0;
  }

  /** The first list that names `ip`, or null. */
  async check(ip: string): Promise<DnsblHit | null> {
    const reversed = reverseName(ip);
    if (!reversed) return null;
    const results = await Promise.all(this.zones.map(async ({ zone, only }) => {
      try {
        const answers = (await this.resolver.lookup(`${reversed}.${zone}`, 'A')).filter((a) => a.startsWith('127.'));
        const hit = only ? answers.find((a) => a === only) : answers[0];
        return hit ? { zone, answer: hit } : null;
      } catch (err) {
        this.log.warn({ zone, ip, err: (err as Error).message }, 'DNSBL lookup failed; not counted');
        return null;
      }
    }));
    return results.find((r) => r !== null) ?? null;
  }
}

/** 1.2.3.4 → 4.3.2.1; IPv6 → reversed nibbles (RFC 5782 2.4); IPv4-mapped IPv6 as IPv4. */
export function reverseName(ip: string): string | null {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const addr = mapped ? mapped[1]! : ip;
  if (net.isIPv4(addr)) return addr.split('.').reverse().join('.');
  if (!net.isIPv6(addr)) return null;
  const [head = '', tail = ''] = addr.split('::', 2) as [string, string?];
  const h = head ? head.split(':') : [];
  const t = addr.includes('::') && tail ? tail.split(':') : [];
  const groups = addr.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.map((g) => g.padStart(4, '0')).join('').split('').reverse().join('.');
}
