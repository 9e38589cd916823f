import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { TempFailure } from '../../src/core/errors.js';
import { StaticResolver, SystemResolver } from '../../src/core/resolver.js';

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
