/** A listener address from the config: `host:port`, `[v6]:port`, or a unix socket path. */
export type ListenAddress =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unix'; path: string };

/**
 * Parses "127.0.0.1:2525", "[::1]:25", "0.0.0.0:25", ":25" (all addresses), "unix:/run/x.sock"
 * or an absolute path. Returns an error message instead of throwing so the schema can name the key.
 */
export function parseListen(value: string): ListenAddress | string {
  if (value.startsWith('unix:')) {
    const path = value.slice(5);
    return path ? { kind: 'unix', path } : 'unix socket path is empty';
  }
  if (value.startsWith('/') || value.startsWith('./')) return { kind: 'unix', path: value };
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  if (!m) return `expected "host:port", "[ipv6]:port" or "unix:/path", got ${JSON.stringify(value)}`;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return `port out of range in ${JSON.stringify(value)}`;
  const host = m[1] ?? m[2] ?? '';
  return { kind: 'tcp', host: host === '' || host === '*' ? '::' : host, port };
}

export function formatListen(addr: ListenAddress): string {
  if (addr.kind === 'unix') return `unix:${addr.path}`;
  return addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}
