/**
 * The one DNS interface (design.md): everything that looks something up in DNS goes through it,
 * so tests use fixed records and never the internet. `lookup` answers the records of one type:
 * an empty list when the name or the type does not exist (NXDOMAIN, NODATA), TempFailure when
 * the answer could not be had (SERVFAIL, timeout, no server), which callers turn into 4xx.
 * MX answers are exchange names by preference; a null MX (RFC 7505, `MX 0 .`) is ''.
 */
import { Resolver as NodeDnsResolver } from 'node:dns/promises';
import { TempFailure } from './errors.js';

export type RecordType = 'MX' | 'A' | 'AAAA' | 'TXT' | 'PTR';

export interface Resolver {
  lookup(name: string, type: RecordType): Promise<string[]>;
}

const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'NOTFOUND']);

/** The system resolver, or the servers from `dns.servers` ("127.0.0.1:5353"). */
export class SystemResolver implements Resolver {
  private readonly dns: NodeDnsResolver;

  constructor(servers: readonly string[] = [], timeoutMs = 5000) {
    this.dns = new NodeDnsResolver({ timeout: timeoutMs, tries: 2 });
    if (servers.length) this.dns.setServers([...servers]);
  }

  async lookup(name: string, type: RecordType): Promise<string[]> {
    try {
      switch (type) {
        case 'MX':
          return (await this.dns.resolveMx(name)).sort((a, b) => a.priority - b.priority).map((r) => r.exchange.replace(/^\.$/, ''));
        case 'A':
          return await this.dns.resolve4(name);
        case 'AAAA':
          return await this.dns.resolve6(name);
        case 'TXT':
          return (await this.dns.resolveTxt(name)).map((parts) => parts.join(''));
        case 'PTR':
          return await this.dns.resolvePtr(name);
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (NOT_FOUND.has(code)) return [];
      throw new TempFailure(`DNS lookup of ${type} ${name} failed: ${code}`, err);
    }
  }
}

/** Fixed records, for tests and for a config that lists them; a name mapped to 'SERVFAIL' fails. */
export class StaticResolver implements Resolver {
  constructor(private readonly records: Readonly<Record<string, Partial<Record<RecordType, string[] | 'SERVFAIL'>>>>) {}

  async lookup(name: string, type: RecordType): Promise<string[]> {
    const entry = this.records[name.toLowerCase().replace(/\.$/, '')]?.[type];
    if (entry === 'SERVFAIL') throw new TempFailure(`DNS lookup of ${type} ${name} failed: SERVFAIL`);
    return entry ?? [];
  }
}
