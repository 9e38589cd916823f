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

/**
 * How many connections a listener holds, counted from the moment they are accepted: a TLS
 * handshake in progress holds a descriptor as much as a session does, and a flood of clients
 * that never finish theirs must not starve the other listeners of descriptors.
 */
export interface ConnectionLimits {
  /** Connections at once on this listener (Postfix's process limit); more are turned away. */
  maxConnections: number;
  /** Connections at once per client IP (Postfix smtpd_client_connection_count_limit); 0 = none. */
  perClient: number;
  /** Clients not held to `perClient` (Postfix smtpd_client_event_limit_exceptions = $mynetworks). */
  exempt?: (ip: string) => boolean;
  /** TCP clients served at all (others are turned away); absent: everyone. Unix sockets: always served. */
  allowed?: (ip: string) => boolean;
}

/** Why a connection was turned away at accept. */
export type Turnaway =
  | { kind: 'listener-full' }
  | { kind: 'client-full'; ip: string }
  | { kind: 'not-allowed'; ip: string };

export interface ListenerSpec {
  name: string;
  address: ListenAddress;
  /** Implicit TLS (465, 993, 995): initial options, and a hook that keeps the server's certificate current. */
  tls?: { options: () => tls.TlsOptions; attach: (server: tls.Server) => () => void };
  handler: ConnectionHandler;
  /** None: no limits. */
  limits?: ConnectionLimits;
  /**
   * The line a plain-text protocol writes to a client it turns away (e.g. SMTP's `421`); none:
   * the connection is just closed. Never used on implicit TLS: there is no session to write in
   * before the handshake, which is exactly what the turned-away client must not get.
   */
  turnaway?: (why: Turnaway) => string;
  /**
   * Called when shutdown begins, before the grace period: a protocol whose clients stay
   * connected between commands (IMAP, IDLE) ends its waiting sessions at once (`* BYE`) and the
   * others after their current command, instead of holding shutdown for the whole grace period.
   */
  drain?: () => void;
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
  /** Connections admitted and not yet closed, in all and per client IP (see ConnectionLimits). */
  private admitted = 0;
  private readonly perClient = new Map<string, number>();
  /** Turning connections away for the listener limit since the last one admitted (logged once). */
  private full = false;
  /** Each admitted connection's release, kept on whichever socket carries it now (STARTTLS swaps). */
  private readonly releases = new WeakMap<net.Socket, () => void>();
  /** Implicit TLS: admitted connections whose handshake is not done yet (no session to wait for at shutdown). */
  private readonly handshaking = new Set<net.Socket>();

  constructor(readonly spec: ListenerSpec, private readonly log: Logger) {}

  get connections(): number {
    return this.sockets.size;
  }

  /** Connections counted against the limits (accepted, TLS handshakes in progress included). */
  get admittedConnections(): number {
    return this.admitted;
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
    const onSession = (socket: net.Socket) => this.accept(socket);
    let tlsServer: tls.Server | undefined;
    if (this.spec.tls) {
      // The TLS server never listens itself: the plain server below accepts, counts and turns
      // away first, and hands it what it admitted (Node's documented way to inject connections
      // into a tls.Server), so that a client is counted before its handshake, not after.
      tlsServer = tls.createServer(this.spec.tls.options(), onSession);
      this.detach = this.spec.tls.attach(tlsServer);
      // A failed handshake is the client's problem; log it at debug level and move on. With a
      // listener here Node leaves the socket open (even after a handshake timeout): close it.
      tlsServer.on('tlsClientError', (err, socket) => {
        this.log.debug({ err: err.message }, 'TLS handshake failed');
        socket.destroy();
      });
    }
    const handshake = tlsServer;
    const server = net.createServer((raw) => {
      if (!this.admit(raw)) return;
      if (handshake) handshake.emit('connection', raw);
      else onSession(raw);
    });
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

  /**
   * Counts a connection just accepted against the limits, or turns it away: closed at once, after
   * the protocol's one-line refusal on plain-text listeners. True when admitted.
   */
  private admit(raw: net.Socket): boolean {
    const limits = this.spec.limits;
    // A client that resets at once has no address any more; there is nothing to serve.
    const ip = raw.remoteAddress;
    if (this.spec.address.kind === 'tcp' && !ip) {
      raw.destroy();
      return false;
    }
    if (limits) {
      let why: Turnaway | undefined;
      if (ip && limits.allowed && !limits.allowed(ip)) why = { kind: 'not-allowed', ip };
      else if (this.admitted >= limits.maxConnections) why = { kind: 'listener-full' };
      else if (ip && limits.perClient > 0 && (this.perClient.get(ip) ?? 0) >= limits.perClient && !limits.exempt?.(ip)) why = { kind: 'client-full', ip };
      if (why) {
        this.turnAway(raw, why);
        return false;
      }
    }
    this.admitted++;
    this.full = false;
    if (ip) this.perClient.set(ip, (this.perClient.get(ip) ?? 0) + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.admitted--;
      if (!ip) return;
      const n = (this.perClient.get(ip) ?? 1) - 1;
      if (n > 0) this.perClient.set(ip, n);
      else this.perClient.delete(ip);
    };
    this.releases.set(raw, release);
    raw.once('close', release);
    // Until the handshake is done (implicit TLS) only the raw socket knows of the connection.
    if (this.spec.tls) {
      raw.on('error', (err) => this.log.debug({ err: err.message }, 'connection error'));
      this.handshaking.add(raw);
      raw.once('close', () => this.handshaking.delete(raw));
    }
    return true;
  }

  private turnAway(raw: net.Socket, why: Turnaway): void {
    // Postfix too warns once when a service reaches its process limit, not per connection: a
    // flood must not turn into as many log lines.
    if (why.kind !== 'listener-full') this.log.info({ ip: raw.remoteAddress, reason: why.kind }, 'connection turned away');
    else if (!this.full) this.log.warn({ limit: this.spec.limits?.maxConnections }, 'listener full: turning connections away');
    this.full = why.kind === 'listener-full' || this.full;
    raw.on('error', () => {});
    const line = this.spec.tls ? undefined : this.spec.turnaway?.(why);
    if (!line) {
      raw.destroy();
      return;
    }
    // Closed once the line is handed to the kernel (which still sends it), not when the client
    // closes its end: a client that never does must not keep the descriptor.
    raw.end(line, () => raw.destroy());
    raw.setTimeout(5_000, () => raw.destroy());
  }

  private accept(socket: net.Socket): void {
    this.track(socket);
    // After implicit TLS the session's socket is the TLSSocket over the raw one: it releases too.
    const raw = (socket as tls.TLSSocket & { _parent?: net.Socket })._parent;
    if (raw) this.handshaking.delete(raw);
    const release = this.releases.get(socket) ?? (raw ? this.releases.get(raw) : undefined);
    if (release) this.carry(socket, release);
    const adopt = (replacement: net.Socket) => {
      this.sockets.delete(socket);
      this.track(replacement);
      if (release) this.carry(replacement, release);
    };
    Promise.resolve()
      .then(() => this.spec.handler(socket, adopt))
      .catch((err: unknown) => {
        this.log.error({ err: (err as Error).message }, 'session failed');
        socket.destroy();
      });
  }

  /** The connection's slot is released when this socket closes (as well). */
  private carry(socket: net.Socket, release: () => void): void {
    this.releases.set(socket, release);
    socket.once('close', release);
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    // A socket that reports an error has nothing more to give; after a TLS error (a refused
    // renegotiation among them) Node leaves it open, holding its descriptor until the idle timeout.
    socket.on('error', (err) => {
      this.log.debug({ err: err.message }, 'connection error');
      socket.destroy();
    });
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
    for (const raw of this.handshaking) raw.destroy();
    this.spec.drain?.();
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
