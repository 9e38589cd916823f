/**
 * smtp-server, adapted where tsmail needs more than its options give:
 *  - it waits a hard-coded 100 ms before every greeting (an "early talker" check), which caps a
 *    listener at a few hundred connections per second whatever the machine; here the greeting
 *    goes out at once, or after `greetPause` (Postfix postscreen's pregreet test, port 25 only),
 *    and a client that talks before it is refused as postscreen does (`greet_action`);
 *  - it picks the RFC 3463 enhanced status code from the reply code alone, so an oversized
 *    message would get `552 5.2.2` (mailbox full) where RFC 3463 and Postfix say `552 5.3.4`:
 *    each connection is created here (as SMTPServer.connect does) with a `send` that leaves a
 *    reply whose text already starts with an enhanced code alone;
 *  - after STARTTLS a TLSSocket takes over the connection and the plain socket goes quiet, so
 *    `accept` reports the new socket to the listener (`adopt`), which tracks sessions for shutdown
 *    (and, as the upgrade strips the plain socket's listeners, reports that one again meanwhile);
 *    the connection is found again by its session, never by address and port, which every
 *    connection of a unix-socket listener shares;
 *  - it advertises AUTH before STARTTLS and then refuses it; Postfix with smtpd_tls_auth_only
 *    does not offer AUTH on a plain connection at all, and clients that see AUTH there may try
 *    it (or give up on TLS), so the EHLO reply of a plain connection drops the AUTH line;
 *  - its AUTH decodes passwords into UTF-8 strings and trims and second-guesses what clients send,
 *    so a listener that gives a `login` gets auth-command.ts in its place (`interceptAuth`);
 *  - it runs command lines of up to 16 KB and decodes invalid UTF-8 into U+FFFD (which its
 *    address check lets through), so lines are checked first (`lineProblem`);
 *  - some of its own replies differ from Postfix's (`ownReply`), VRFY when disabled among them,
 *    and its sendmail jokes (WIZ, SHELL, KILL) and HELP answer where Postfix says "command not
 *    recognized"; without smtpd_recipient_limit a transaction takes any number of recipients;
 *  - its maxRecipients counts distinct addresses only, so a recipient repeated 300,000 times was
 *    taken 300,000 times: every accepted RCPT counts here, as in Postfix (`countRecipients`);
 *  - it hangs up after ten unknown commands and counts no other error: Postfix's error limits
 *    (error-limits.ts) apply to every error reply instead, where a listener has them.
 * Replies and limits follow Postfix 3.7's smtpd, checked against the real one.
 */
import { isUtf8 } from 'node:buffer';
import type net from 'node:net';
import type tls from 'node:tls';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { SMTPConnection, type SMTPConnectionOptions } from 'smtp-server/lib/smtp-connection.js';
import { sessionIdSource } from '../../core/session-id.js';
import { type SmtpLogin, authCommand } from './auth-command.js';
import { type ErrorLimits, limitErrors } from './error-limits.js';
import { reply, replyError } from './replies.js';

const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3} /;

/**
 * Postfix postscreen's pregreet test: the greeting waits `ms`; a client that talks first gets
 * `550 5.5.1 Protocol error` for every RCPT (`enforce`, the seeds' postscreen_greet_action) or
 * `521 5.5.1 Protocol error` and is disconnected (`drop`). Clients `exempt` (mynetworks,
 * postscreen_access_list = permit_mynetworks) are greeted at once.
 */
export interface GreetPause {
  ms: number;
  action: 'enforce' | 'drop';
  exempt(ip: string): boolean;
}

/** smtpd_timeout and the process limit, for every SMTP-family listener. */
export interface SessionLimits {
  /** Idle time allowed while waiting for the client (ms). */
  timeoutMs: number;
  /**
   * How long a STARTTLS handshake may take (ms); default: `timeoutMs`. A client that says STARTTLS
   * and then never completes the handshake holds a connection slot and a descriptor: it gets far
   * less time than an idle client (Postfix: smtpd_starttls_timeout). The connection limits are
   * the listener's (daemon/listener.ts), counted from accept.
   */
  handshakeTimeoutMs?: number;
  /** smtpd_recipient_limit: recipients per transaction, more get `452 4.5.3` (default 1000). */
  maxRecipients?: number;
  /** Port 25 only; none: greeted at once. */
  greetPause?: GreetPause;
  /** smtpd_soft/hard_error_limit and smtpd_error_sleep_time; none: smtp-server's ten unknown commands. */
  errors?: ErrorLimits;
}

/** smtp-server's options, and the login of a listener that takes AUTH (auth-command.ts). */
export type AdaptedServerOptions = SMTPServerOptions & { login?: SmtpLogin };

/** RFC 5321 4.5.3.1.6: 1000 octets with the CRLF. Longer lines are refused, not truncated. */
const MAX_LINE = 998;
/** smtpd_recipient_limit's default, for listeners that set no limit of their own. */
const DEFAULT_MAX_RECIPIENTS = 1000;
/** smtp-server's count of unknown commands after which it hangs up (Postfix: smtpd_hard_error_limit). */
const MAX_ERRORS = 10;

/**
 * Why a command line is refused before it is parsed, or null. AUTH lines are exempt from the
 * length limit: RFC 4954 4 allows them 12288 octets (smtp-server still stops at 16 KB).
 */
function lineProblem(line: Buffer): string | null {
  if (line.length > MAX_LINE && !/^AUTH /i.test(line.subarray(0, 5).toString('latin1'))) return '5.5.2 Error: line too long';
  // Postfix with smtputf8_enable (its default) refuses these before looking at the command.
  if (!isUtf8(line)) return '5.5.2 Error: bad UTF-8 syntax';
  return null;
}

type RcptHandler = NonNullable<SMTPServerOptions['onRcptTo']>;

/**
 * smtpd_recipient_limit over every accepted RCPT of a transaction, a repeated address included
 * (Postfix counts RCPT commands, and its cleanup then keeps one copy of a recipient given twice).
 * Counted per envelope: smtp-server starts a new one for every transaction.
 */
function countRecipients(max: number, handler: RcptHandler): RcptHandler {
  const counts = new WeakMap<object, number>();
  return (address, session, callback) => {
    const envelope = session.envelope;
    if ((counts.get(envelope) ?? 0) >= max) {
      return callback(replyError(reply({ kind: 'too-many-recipients' })));
    }
    handler(address, session, (err) => {
      if (!err) counts.set(envelope, (counts.get(envelope) ?? 0) + 1);
      callback(err);
    });
  };
}

/** smtp-server's own replies, reworded as Postfix sends them (code and text after the code). */
function ownReply(connection: SMTPConnection, code: number, data: unknown): [number, string] | undefined {
  if (typeof data !== 'string') return undefined;
  const name = connection.name;
  // RFC 3463 / Postfix: AUTH before STARTTLS is "encryption required for requested authentication mechanism".
  if (code === 538 && data.includes('STARTTLS')) return [538, `5.7.11 ${data}`];
  if (code === 421) {
    if (data === 'Timeout - closing connection') return [421, `4.4.2 ${name} Error: timeout exceeded`];
    if (data === 'Error: too many unrecognized commands' || data === 'Error: too many unauthenticated commands') {
      return [421, `4.7.0 ${name} Error: too many errors`];
    }
    // Beyond smtp-server's 16 KB its parser gives up on the connection.
    if (data === 'Error: Command line too long') return [421, `4.7.0 ${name} Error: line too long`];
  }
  // Postfix: DATA inside a transaction without an accepted recipient (RFC 5321 3.3 allows 503 or 554).
  if (code === 503 && data === 'Error: need RCPT command' && connection.session.envelope?.mailFrom) {
    return [554, '5.5.1 Error: no valid recipients'];
  }
  return undefined;
}

export class AdaptedSmtpServer extends SMTPServer {
  /** Connections waiting for STARTTLS: told of their TLS socket (`adopt`). */
  private readonly adopters: WeakMap<SMTPServerSession, (replacement: net.Socket) => void>;
  /** Sessions whose client talked before the greeting (greetPause with `enforce`). */
  private readonly earlyTalkers = new WeakSet<SMTPServerSession>();
  private readonly greetPause: GreetPause | undefined;
  private readonly errorLimits: ErrorLimits | undefined;
  private readonly handshakeTimeoutMs: number | undefined;

  /**
   * `onEnd`: called once per session when it ends, as soon as either side closes it. smtp-server's
   * onClose waits for the socket's 'close' (after the client too has closed its end), so a client
   * that reconnects right after QUIT could still find its old session counted.
   */
  constructor(
    options: AdaptedServerOptions,
    limits?: SessionLimits,
    private readonly onEnd: (session: SMTPServerSession) => void = () => {},
    private readonly nextId: () => string = sessionIdSource(),
  ) {
    const adopters = new WeakMap<SMTPServerSession, (replacement: net.Socket) => void>();
    const maxRecipients = limits?.maxRecipients || options.maxRecipients || DEFAULT_MAX_RECIPIENTS;
    super({
      ...options,
      disabledCommands: [...(options.disabledCommands ?? []), 'HELP', 'WIZ', 'SHELL', 'KILL'],
      ...(limits ? { socketTimeout: limits.timeoutMs } : {}),
      // smtp-server's own limit lets repeated addresses through: countRecipients applies it.
      maxRecipients: 0,
      onRcptTo: countRecipients(maxRecipients, options.onRcptTo ?? ((_address, _session, cb) => setImmediate(cb))),
      onSecure: (socket, session, cb) => {
        adopters.get(session)?.(socket as net.Socket);
        adopters.delete(session);
        if (options.onSecure) options.onSecure(socket, session, cb);
        else cb();
      },
    });
    this.adopters = adopters;
    this.greetPause = limits?.greetPause && limits.greetPause.ms > 0 ? limits.greetPause : undefined;
    this.errorLimits = limits?.errors;
    this.handshakeTimeoutMs = limits?.handshakeTimeoutMs ?? limits?.timeoutMs;
  }

  /** True when the client of this session talked before the greeting. */
  talkedEarly(session: SMTPServerSession): boolean {
    return this.earlyTalkers.has(session);
  }

  /** Serves a socket from our Listener; `adopt` learns of the TLS socket after STARTTLS. */
  accept(socket: net.Socket, adopt?: (replacement: net.Socket) => void): void {
    this.serve(socket, adopt);
  }

  override connect(socket: net.Socket | tls.TLSSocket, socketOptions?: SMTPConnectionOptions | null): void {
    this.serve(socket, undefined, socketOptions);
  }

  private serve(socket: net.Socket | tls.TLSSocket, adopt?: (replacement: net.Socket) => void, socketOptions?: SMTPConnectionOptions | null): void {
    const connection = new SMTPConnection(this, socket, { id: this.nextId(), ...socketOptions });
    if (adopt) this.adopters.set(connection.session, adopt);
    this.interceptAuth(connection);
    const send = connection.send.bind(connection);
    connection.send = (code, data, context) => {
      if (code === 250 && Array.isArray(data) && !connection.secure) data = data.filter((line) => !/^AUTH\b/.test(line));
      const replaced = ownReply(connection, code, data);
      if (replaced) return send(replaced[0], replaced[1], false);
      return send(code, data, typeof data === 'string' && ENHANCED.test(data) ? false : context);
    };
    const onCommand = connection._onCommand.bind(connection);
    const resume = (next?: () => void) => setImmediate(() => connection._whenWritable(next ?? (() => {})));
    connection._onCommand = (line, next) => {
      if (this.greetPause && !connection._ready && !connection._upgrading && !connection._closing) return this.earlyTalk(connection, next);
      // During a TLS handshake and inside an AUTH exchange (whose lines are SASL data, not
      // commands) smtp-server's own handling applies.
      if (!connection._ready || connection._upgrading || connection._nextHandler) return onCommand(line, next);
      const problem = lineProblem(line);
      if (problem) {
        // Counted with unknown commands, so that a client sending nothing but garbage is cut off.
        if (++connection._unrecognizedCommands >= MAX_ERRORS) return connection.send(421, 'Error: too many unrecognized commands');
        connection.send(500, problem);
        return resume(next);
      }
      // Postfix with disable_vrfy_command says so, rather than "command not recognized".
      if (/^VRFY(\s|$)/i.test(line.subarray(0, 5).toString('latin1')) && connection._isDisabled('VRFY')) {
        connection.send(502, '5.5.1 VRFY command is disabled');
        return resume(next);
      }
      onCommand(line, next);
    };
    if (this.errorLimits) limitErrors(connection, this.errorLimits);
    const upgrade = connection.upgrade.bind(connection);
    connection.upgrade = (callback, secureCallback) => {
      upgrade(callback, secureCallback);
      // upgrade() strips every listener off the plain socket, the listener's 'close' among
      // them: without telling it again, a handshake that never completes leaves the listener
      // counting a connection that is gone, and shutdown waits for it forever.
      adopt?.(socket as net.Socket);
      this.limitHandshake(connection, socket);
    };
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      this.onEnd(connection.session);
    };
    const close = connection.close.bind(connection);
    connection.close = () => {
      close();
      end();
    };
    const onClose = connection._onClose.bind(connection);
    connection._onClose = () => {
      onClose();
      end();
    };
    this.connections.add(connection);
    connection.on('error', (err: Error) => this._onError(err));
    connection.on('connect', (data: unknown) => (this as unknown as { _onClientConnect(d: unknown): void })._onClientConnect(data));
    this.init(connection);
  }

  /** AUTH through the listener's login, with the password's raw bytes (auth-command.ts). */
  private interceptAuth(connection: SMTPConnection): void {
    const login = (this.options as AdaptedServerOptions).login;
    if (!login) return;
    connection.handler_AUTH = authCommand(connection, { login, requireTls: !this.options.allowInsecureAuth });
  }

  /** Ends a session from outside (its client got banned): the reply, then the connection closes. */
  drop(session: SMTPServerSession, reply: { code: number; text: string }): void {
    for (const connection of this.connections) {
      if (connection.session !== session) continue;
      connection.send(reply.code, reply.text, false);
      connection.close();
      return;
    }
  }

  /**
   * STARTTLS: the handshake must be done within `handshakeTimeoutMs`, else the connection is cut
   * (smtp-server would wait its whole idle timeout). The plain socket carries the handshake:
   * destroying it ends the TLS socket and the session with it.
   */
  private limitHandshake(connection: SMTPConnection, socket: net.Socket): void {
    const ms = this.handshakeTimeoutMs;
    if (!ms) return;
    const timer = setTimeout(() => {
      if (connection.secure || connection._closed) return;
      socket.destroy();
    }, ms);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }

  /**
   * SMTPConnection.init() without its fixed 100 ms pause: the listeners are set up and the
   * greeting sent at once, or after the greet pause. (Connection limits are the listener's.)
   */
  private init(connection: SMTPConnection): void {
    connection._setListeners(() => {
      const pause = this.greetPause;
      if (!pause || pause.exempt(connection.remoteAddress)) return connection.connectionReady();
      const timer = setTimeout(() => {
        if (!connection._closing && !connection._closed) connection.connectionReady();
      }, pause.ms);
      timer.unref();
      connection._socket.once('close', () => clearTimeout(timer));
    });
  }

  /** A command line before the greeting (postscreen's PREGREET). */
  private earlyTalk(connection: SMTPConnection, next?: () => void): void {
    if (this.greetPause?.action === 'drop') {
      connection.send(521, '5.5.1 Protocol error');
      return connection.close();
    }
    // enforce: the session goes on and every RCPT is refused; what was sent early is dropped
    // unanswered, as the greeting it should have waited for has not been sent yet.
    this.earlyTalkers.add(connection.session);
    next?.();
  }
}
