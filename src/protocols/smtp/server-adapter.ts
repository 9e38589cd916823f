/**
 * smtp-server, adapted where tsmail needs more than its options give:
 *  - it picks the RFC 3463 enhanced status code from the reply code alone, so an oversized
 *    message would get `552 5.2.2` (mailbox full) where RFC 3463 and Postfix say `552 5.3.4`:
 *    each connection is created here (as SMTPServer.connect does) with a `send` that leaves a
 *    reply whose text already starts with an enhanced code alone;
 *  - after STARTTLS a TLSSocket takes over the connection and the plain socket goes quiet, so
 *    `accept` reports the new socket to the listener (`adopt`), which tracks sessions for shutdown;
 *  - it advertises AUTH before STARTTLS and then refuses it; Postfix with smtpd_tls_auth_only
 *    does not offer AUTH on a plain connection at all, and clients that see AUTH there may try
 *    it (or give up on TLS), so the EHLO reply of a plain connection drops the AUTH line.
 */
import type net from 'node:net';
import type tls from 'node:tls';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { SMTPConnection, type SMTPConnectionOptions } from 'smtp-server/lib/smtp-connection.js';

const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3} /;

/** smtpd_timeout and the process limit, for every SMTP-family listener. */
export interface SessionLimits {
  /** Idle time allowed while waiting for the client (ms). */
  timeoutMs: number;
  /** Connections served at once by this listener; more get `421`. */
  maxClients: number;
}

/** smtp-server's own replies whose enhanced code RFC 3207/3463 define more precisely. */
function ownCode(code: number, data: unknown): string | undefined {
  // RFC 3463 / Postfix: AUTH before STARTTLS is "encryption required for requested authentication mechanism".
  if (code === 538 && typeof data === 'string' && data.includes('STARTTLS')) return `5.7.11 ${data}`;
  return undefined;
}

export class AdaptedSmtpServer extends SMTPServer {
  /** Connections waiting for STARTTLS, by remote address and port. */
  private readonly adopters: Map<string, (replacement: net.Socket) => void>;

  constructor(options: SMTPServerOptions, limits?: SessionLimits) {
    const adopters = new Map<string, (replacement: net.Socket) => void>();
    super({
      ...options,
      ...(limits ? { socketTimeout: limits.timeoutMs, maxClients: limits.maxClients } : {}),
      onSecure: (socket, session, cb) => {
        const key = `${socket.remoteAddress}:${socket.remotePort}`;
        adopters.get(key)?.(socket as net.Socket);
        adopters.delete(key);
        if (options.onSecure) options.onSecure(socket, session, cb);
        else cb();
      },
    });
    this.adopters = adopters;
  }

  /** Serves a socket from our Listener; `adopt` learns of the TLS socket after STARTTLS. */
  accept(socket: net.Socket, adopt: (replacement: net.Socket) => void = () => {}): void {
    const key = `${socket.remoteAddress}:${socket.remotePort}`;
    this.adopters.set(key, adopt);
    socket.once('close', () => this.adopters.delete(key));
    this.connect(socket);
  }

  override connect(socket: net.Socket | tls.TLSSocket, socketOptions?: SMTPConnectionOptions | null): void {
    const connection = new SMTPConnection(this, socket, socketOptions ?? undefined);
    const send = connection.send.bind(connection);
    connection.send = (code, data, context) => {
      if (code === 250 && Array.isArray(data) && !connection.secure) data = data.filter((line) => !/^AUTH\b/.test(line));
      const replaced = ownCode(code, data);
      if (replaced) return send(code, replaced, false);
      return send(code, data, typeof data === 'string' && ENHANCED.test(data) ? false : context);
    };
    this.connections.add(connection);
    connection.on('error', (err: Error) => this._onError(err));
    connection.on('connect', (data: unknown) => (this as unknown as { _onClientConnect(d: unknown): void })._onClientConnect(data));
    connection.init();
  }
}
