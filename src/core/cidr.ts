import net from 'node:net';

/**
 * Postfix `mynetworks`-style address lists: `127.0.0.0/8`, `[::1]/128`, `[::ffff:127.0.0.0]/104`,
 * `192.0.2.1` (a single host). IPv4-mapped IPv6 client addresses (`::ffff:127.0.0.1`, what a
 * dual-stack listener reports) match IPv4 networks.
 */
export class NetworkList {
  private readonly blocks = new net.BlockList();

  constructor(readonly entries: readonly string[]) {
    for (const entry of entries) {
      const m = /^\[?([0-9a-fA-F.:]+)\]?(?:\/(\d{1,3}))?$/.exec(entry.trim());
      const ip = m?.[1];
      const family = ip ? net.isIP(ip) : 0;
      if (!ip || family === 0) throw new RangeError(`not an address or network: ${JSON.stringify(entry)}`);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      const max = family === 4 ? 32 : 128;
      const prefix = m[2] === undefined ? max : Number(m[2]);
      if (prefix > max) throw new RangeError(`prefix too long in ${JSON.stringify(entry)}`);
      this.blocks.addSubnet(ip, prefix, type);
    }
  }

  has(address: string): boolean {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    const ip = mapped ? mapped[1]! : address;
    const family = net.isIP(ip);
    if (family === 0) return false;
    return this.blocks.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  }
}
