import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TempFailure } from '../../src/core/errors.js';
import { StaticResolver, SystemResolver } from '../../src/core/resolver.js';
import { startFakeDns, type FakeDns } from '../helpers/fake-dns.js';

describe('DNS resolver interface', () => {
  it('static records: empty for unknown names, TempFailure for SERVFAIL', async () => {
    const r = new StaticResolver({ 'a.example': { MX: ['mx.a.example'] }, 'b.example': { A: 'SERVFAIL' } });
    expect(await r.lookup('A.example.', 'MX')).toEqual(['mx.a.example']);
    expect(await r.lookup('a.example', 'A')).toEqual([]);
    await expect(r.lookup('b.example', 'A')).rejects.toBeInstanceOf(TempFailure);
  });

  it('the system resolver turns an unreachable server into a temporary failure, not "not found"', async () => {
    // a UDP port on loopback that never answers
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const port = (sock.address() as { port: number }).port;
    try {
      const r = new SystemResolver([`127.0.0.1:${port}`], 200);
      await expect(r.lookup('example.test', 'MX')).rejects.toBeInstanceOf(TempFailure);
    } finally {
      sock.close();
    }
  });
});

describe('SystemResolver over UDP against a local DNS server', () => {
  // A DKIM-sized key: one record longer than 255 bytes, sent as several character-strings.
  const longKey = `v=DKIM1; k=rsa; p=${'A'.repeat(400)}`;
  let dns: FakeDns;
  let resolver: SystemResolver;

  beforeAll(async () => {
    dns = await startFakeDns({
      'host.example': {
        A: ['192.0.2.1', '192.0.2.2'],
        AAAA: ['2001:db8::1', '2001:db8:0:0:1:0:0:abcd'],
        MX: [{ preference: 20, exchange: 'mx2.host.example' }, { preference: 5, exchange: 'MX1.host.example.' }, { preference: 10, exchange: 'mx3.host.example' }],
        TXT: ['v=spf1 -all', ['split ', 'in ', 'three']],
      },
      'sel._domainkey.host.example': { TXT: [longKey] },
      '1.2.0.192.in-addr.arpa': { PTR: ['host.example'] },
      'broken.example': 'SERVFAIL',
      'slow.example': 'TIMEOUT',
      'half.example': { A: ['192.0.2.9'], TXT: 'SERVFAIL', MX: 'TIMEOUT' },
    });
    resolver = new SystemResolver([dns.server], 200);
  });
  afterAll(async () => {
    await dns.close();
  });

  it('answers A and AAAA (case-insensitive names, trailing dot allowed)', async () => {
    expect((await resolver.lookup('HOST.Example.', 'A')).sort()).toEqual(['192.0.2.1', '192.0.2.2']);
    expect((await resolver.lookup('host.example', 'AAAA')).sort()).toEqual(['2001:db8::1', '2001:db8::1:0:0:abcd']);
  });

  it('answers MX exchanges sorted by preference', async () => {
    expect(await resolver.lookup('host.example', 'MX')).toEqual(['mx1.host.example', 'mx3.host.example', 'mx2.host.example']);
  });

  it('answers TXT records with their character-strings joined, long records included', async () => {
    expect((await resolver.lookup('host.example', 'TXT')).sort()).toEqual(['split in three', 'v=spf1 -all']);
    expect(await resolver.lookup('sel._domainkey.host.example', 'TXT')).toEqual([longKey]);
  });

  it('answers PTR', async () => {
    expect(await resolver.lookup('1.2.0.192.in-addr.arpa', 'PTR')).toEqual(['host.example']);
  });

  it('treats NXDOMAIN and NODATA as "no records", not as failures', async () => {
    expect(await resolver.lookup('nowhere.example', 'A')).toEqual([]);
    expect(await resolver.lookup('nowhere.example', 'MX')).toEqual([]);
    expect(await resolver.lookup('1.2.0.192.in-addr.arpa', 'A')).toEqual([]);
    expect(await resolver.lookup('half.example', 'AAAA')).toEqual([]);
  });

  it('turns SERVFAIL and a silent server into TempFailure', async () => {
    await expect(resolver.lookup('broken.example', 'A')).rejects.toBeInstanceOf(TempFailure);
    await expect(resolver.lookup('half.example', 'TXT')).rejects.toBeInstanceOf(TempFailure);
    await expect(resolver.lookup('slow.example', 'TXT')).rejects.toBeInstanceOf(TempFailure);
    await expect(resolver.lookup('half.example', 'MX')).rejects.toBeInstanceOf(TempFailure);
    // the other types of a half-broken name still answer
    expect(await resolver.lookup('half.example', 'A')).toEqual(['192.0.2.9']);
  });

  it('the fake server speaks RFC 1035: header flags, echoed question, compressed owner name', async () => {
    // A hand-made query (ID 0x1234, RD set) with a mixed-case name, so the test does not rely
    // on c-ares to check what the fake sends.
    const ask = async (name: string, type: number): Promise<Buffer> => {
      const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
      const query = Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, type, 0, 1])]);
      const sock = dgram.createSocket('udp4');
      try {
        const reply = new Promise<Buffer>((resolve) => sock.once('message', resolve));
        sock.send(query, dns.port, '127.0.0.1');
        return await reply;
      } finally {
        sock.close();
      }
    };
    const a = await ask('Host.EXAMPLE', 1);
    expect(a.readUInt16BE(0)).toBe(0x1234); // ID copied
    expect(a[2]).toBe(0x85); // QR, opcode 0, AA, RD copied
    expect(a[3]! & 0x0f).toBe(0); // NOERROR
    expect([a.readUInt16BE(4), a.readUInt16BE(6)]).toEqual([1, 2]); // one question, two answers
    expect(a.subarray(12, 30).toString('latin1')).toBe('\x04Host\x07EXAMPLE\x00\x00\x01\x00\x01'); // echoed as asked
    expect(a.readUInt16BE(30)).toBe(0xc00c); // owner name: pointer to the question
    const nx = await ask('nowhere.example', 1);
    expect(nx[3]! & 0x0f).toBe(3); // NXDOMAIN
    expect([nx.readUInt16BE(4), nx.readUInt16BE(6)]).toEqual([1, 0]);
  });

  it('asks the configured server and nothing else (query log)', async () => {
    const before = dns.queries.length;
    await resolver.lookup('Host.Example', 'MX');
    expect(dns.queries.slice(before)).toEqual(['MX host.example']);
  });
});
