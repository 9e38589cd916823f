import net from 'node:net';
import tls from 'node:tls';
import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { formatListen, type ListenAddress } from '../config/listen.js';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/**
 * Serves one accepted connection. `adopt` hands the listener the socket that replaced this one
 * after STARTTLS (a TLSSocket takes over the connection; the plain socket no longer reports its
 * close), so that shutdown can still wait for and cut the session.
 */
export type ConnectionHandler = (socket: net.Socket, adopt: (replacement: net.Socket) => void) => void | Promise<void>;

export interface ListenerSpec {
  name: string;
  address: ListenAddress;
  /** Implicit TLS (465, 993, 995): initial options, and a hook that keeps the server's certificate current. */
  tls?: { options: () => tls.TlsOptions; attach: (server: tls.Server) => () => void };
  handler: ConnectionHandler;
}

/**
 * One bound socket. Tracks its live connections so that shutdown can stop accepting, let the
 * sessions finish, and cut the ones that outlive the grace period.
 */
export class Listener {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly idle = new Set<() => void>();
  private detach: (() => void) | undefined;

  constructor(readonly spec: ListenerSpec, private readonly log: Logger) {}

  get connections(): number {
    return this.sockets.size;
  }

  /** The bound TCP port (the one the OS chose for port 0); null for unix sockets or before start. */
  get port(): number | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : null;
  }

  /** The bound address (useful when the config said port 0). */
  address(): string {
    const a = this.server?.address();
    if (!a) return formatListen(this.spec.address);
    if (typeof a === 'string') return `unix:${a}`;
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  async start(): Promise<void> {
    const onConnection = (socket: net.Socket) => this.accept(socket);
    let server: net.Server;
    if (this.spec.tls) {
      const tlsServer = tls.createServer(this.spec.tls.options(), onConnection);
      this.detach = this.spec.tls.attach(tlsServer);
      // A failed handshake is the client's problem; log it at debug level and move on. With a
      // listener here Node leaves the socket open (even after a handshake timeout): close it.
      tlsServer.on('tlsClientError', (err, socket) => {
        this.log.debug({ err: err.message }, 'TLS handshake failed');
        socket.destroy();
      });
      server = tlsServer;
    } else {
      server = net.createServer(onConnection);
    }
    const addr = this.spec.address;
    if (addr.kind === 'unix') await removeStaleSocket(addr.path, this.spec.name);
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException) => reject(describeListenError(err, this.spec));
        server.once('error', onError);
        const ready = () => {
          server.off('error', onError);
          resolve();
        };
        if (addr.kind === 'unix') server.listen(addr.path, ready);
        else server.listen({ host: addr.host, port: addr.port, ipv6Only: false }, ready);
      });
    } catch (err) {
      this.detach?.();
      throw err;
    }
    server.on('error', (err) => this.log.error({ err: err.message }, 'listener error'));
    this.server = server;
  }

  private whenIdle(): Promise<void> {
    if (this.sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.add(resolve));
  }

  private accept(socket: net.Socket): void {
    this.track(socket);
    const adopt = (replacement: net.Socket) => {
      this.sockets.delete(socket);
      this.track(replacement);
    };
    Promise.resolve()
      .then(() => this.spec.handler(socket, adopt))
      .catch((err: unknown) => {
        this.log.error({ err: (err as Error).message }, 'session failed');
        socket.destroy();
      });
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'connection error'));
    socket.once('close', () => {
      if (!this.sockets.delete(socket)) return;
      if (this.sockets.size > 0) return;
      for (const done of this.idle) done();
      this.idle.clear();
    });
  }

  /** Stops accepting; resolves when every connection has closed or `graceMs` passed (then cuts them). */
  async stop(graceMs: number): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), graceMs);
    });
    const cut = await Promise.race([this.whenIdle().then(() => false), graceOver]);
    clearTimeout(timer);
    if (cut) {
      const gone = this.whenIdle();
      for (const s of this.sockets) s.destroy();
      await gone;
    }
    await closed;
    this.detach?.();
    this.server = undefined;
  }
}

async function removeStaleSocket(path: string, name: string): Promise<void> {
  if (!existsSync(path)) return;
  // Another live server on this socket → refuse; a leftover from a crash → remove it.
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) throw new ConfigError(`cannot listen on unix:${path} for ${name}: another process is listening there`);
  await unlink(path);
}

function describeListenError(err: NodeJS.ErrnoException, spec: ListenerSpec): ConfigError {
  const where = `cannot listen on ${formatListen(spec.address)} for ${spec.name}`;
  const reason: Record<string, string> = {
    EADDRINUSE: 'address already in use (is Postfix, Dovecot or another tsmail still running?)',
    EACCES: 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE; see systemd/tsmail.service)',
    EADDRNOTAVAIL: 'that IP address is not configured on this machine',
    ENOENT: 'the socket directory does not exist',
  };
  return new ConfigError(`${where}: ${reason[err.code ?? ''] ?? err.message}`);
}
