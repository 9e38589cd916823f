import { describe, expect, it } from 'vitest';
import { TempFailure } from '../../src/core/errors.js';
import { StaticResolver, type RecordType, type Resolver } from '../../src/core/resolver.js';
import { DnsSenderDomainCheck } from '../../src/security/sender-domain.js';

/** Records every question; answers from fixed records. */
class CountingResolver implements Resolver {
  readonly asked: string[] = [];
  constructor(private readonly inner: Resolver) {}
  lookup(name: string, type: RecordType): Promise<string[]> {
    this.asked.push(`${type} ${name}`);
    return this.inner.lookup(name, type);
  }
}

describe('reject_unknown_sender_domain (DnsSenderDomainCheck)', () => {
  const dns = new CountingResolver(new StaticResolver({
    'mx.example': { MX: ['mx.mx.example'] },
    'a-only.example': { A: ['192.0.2.1'] },
    'v6-only.example': { AAAA: ['2001:db8::1'] },
    'nullmx.example': { MX: [''] },
    'broken.example': { MX: 'SERVFAIL' },
  }));
  const ours = new Set(['example.test', 'alias.example.test']);
  const check = new DnsSenderDomainCheck(dns, { isLocalDomain: async (d) => ours.has(d) });

  it('never looks up domains we are final destination for (mailbox and alias domains)', async () => {
    dns.asked.length = 0;
    for (const d of ['example.test', 'EXAMPLE.TEST', 'alias.example.test', 'example.test.']) expect(await check.check(d)).toBe('ok');
    expect(dns.asked).toEqual([]);
  });

  it('asks MX, then A and AAAA, as Postfix does', async () => {
    dns.asked.length = 0;
    expect(await check.check('mx.example')).toBe('ok');
    expect(await check.check('a-only.example')).toBe('ok');
    expect(await check.check('v6-only.example')).toBe('ok');
    expect(await check.check('nowhere.example')).toBe('unknown');
    expect(await check.check('nullmx.example')).toBe('null-mx');
    expect(await check.check('[192.0.2.1]')).toBe('ok');
    expect(dns.asked).toEqual([
      'MX mx.example', 'MX a-only.example', 'A a-only.example', 'MX v6-only.example', 'A v6-only.example', 'AAAA v6-only.example',
      'MX nowhere.example', 'A nowhere.example', 'AAAA nowhere.example', 'MX nullmx.example',
    ]);
  });

  it('passes DNS trouble on as TempFailure (the caller answers 450, never 550)', async () => {
    await expect(check.check('broken.example')).rejects.toBeInstanceOf(TempFailure);
  });
});
