/**
 * The IMAP service on a socket from the daemon's Listener (accept, limits, implicit TLS are the
 * listener's): greeting, the loop over the framer's events (input.ts), STARTTLS, idle timeouts,
 * APPEND's streamed literal. One command at a time: the next is not taken before the previous
 * one's reply is written, and the socket is not read while its write buffer is over
 * `maxWriteBuffer` (a client that reads slowly cannot make the server buffer without bound), so
 * pipelined commands are answered in order.
 */
import type net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../../core/logger.js';
import type { CommandContext, ImapServices } from './command.js';
import { appendMessage } from './commands/append.js';
import { Dispatcher } from './dispatcher.js';
import { DEFAULT_LIMITS, type FramerEvent, type FramerLimits } from './framer.js';
import { FramedInput } from './input.js';
import { LazyLogger } from './lazy-logger.js';
import { parseCommand } from './parser.js';
import { SocketOutput } from './output.js';
import { bad, formatTagged, no } from './replies.js';
import { ImapSession, type Connection } from './session.js';

export interface ImapServerOptions {
  services: ImapServices;
  hostname: string;
  /** Implicit TLS (993): the socket handed in is already a TLSSocket. */
  implicitTls: boolean;
  /** For STARTTLS; absent: not offered. */
  tlsContext?: () => tls.SecureContext;
  /** imap.login_without_tls: LOGIN/AUTHENTICATE in clear text (off: LOGINDISABLED, RFC 9051 6.2.3). */
  plaintextLogin: boolean;
  /** Inactivity limits (ms): before login (Dovecot: 3 min) and after (RFC 9051 5.4: at least 30 min). */
  timeouts: { preAuth: number; authenticated: number; handshake: number };
  limits: ReadLimits & { maxWriteBuffer: number };
  sessionIds?: () => string;
  log: Logger;
}

export interface ReadLimits {
  maxLine: number;
  /** A literal inside a command other than APPEND's message (a LOGIN password, a SEARCH string). */
  maxLiteral: number;
  /** The whole command, literals included. */
  maxCommand: number;
}

/** A live connection as shutdown sees it. */
interface Live {
  /** Waiting for the client (between commands, or in IDLE): can be ended at once. */
  waiting: boolean;
  stopping: boolean;
  bye(): void;
}

/** Dovecot's CLIENT_MAX_BAD_COMMANDS: a client sending only garbage is not served forever. */
const MAX_BAD_COMMANDS = 20;

export class ImapServer {
  private readonly dispatcher = new Dispatcher();
  private readonly live = new Set<Live>();

  /** One set for every connection (each framer keeps a reference, not a copy). */
  private readonly framerLimits: FramerLimits;

  constructor(private readonly opts: ImapServerOptions) {
    this.framerLimits = {
      ...DEFAULT_LIMITS,
      maxLineLength: opts.limits.maxLine,
      maxLiteralSize: opts.limits.maxLiteral,
      maxCommandSize: opts.limits.maxCommand,
      maxAppendSize: opts.services.maxAppendSize,
    };
  }

  /**
   * Shutdown: sessions waiting for their client get `* BYE` and close now (RFC 9051 7.1.5);
   * sessions in the middle of a command finish it first.
   */
  drain(): void {
    for (const l of this.live) {
      l.stopping = true;
      if (l.waiting) l.bye();
    }
  }

  /** Serves one accepted connection; `adopt` learns of the TLS socket after STARTTLS. */
  async handle(socket: net.Socket, adopt: (s: net.Socket) => void = () => {}): Promise<void> {
    const opts = this.opts;
    const log = new LazyLogger(opts.log, { session: opts.sessionIds?.() ?? Math.random().toString(36).slice(2, 10), ip: socket.remoteAddress });
    let current = socket;
    SocketOutput.noDelay(socket);
    const out = new SocketOutput(() => current, opts.limits.maxWriteBuffer);
    const input = new FramedInput(socket, this.framerLimits, () => out.drained());
    const ip = socket.remoteAddress ?? '';
    const conn: Connection = {
      ip,
      canStartTls: !opts.implicitTls && opts.tlsContext !== undefined,
      // Not async: a promise chain, no suspended frame while IDLE waits for DONE.
      nextLine: () => {
        live.waiting = true;
        // FramedInput's promises never reject: no finally() (one promise and closure less per wait).
        return input.line().then((ev) => {
          live.waiting = false;
          if (ev === null) return null;
          if (ev.type === 'command') return ev.frame.subarray(0, ev.frame.length - (ev.frame.at(-2) === 0x0d ? 2 : 1));
          if (ev.type === 'error' && ev.fatal) {
            out.write(`* BYE ${ev.message}\r\n`);
            return null;
          }
          // Not a line (a literal announced, or refused): an invalid answer, with its literal dropped.
          if (ev.type === 'continue') input.refuse();
          if (ev.type === 'append') input.dropAppend();
          return Buffer.alloc(0);
        });
      },
      startTls: async () => {
        out.flush();
        input.detach();
        const secure = new tls.TLSSocket(current, { isServer: true, secureContext: opts.tlsContext!() });
        current = secure;
        adopt(secure);
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('TLS handshake timed out')), opts.timeouts.handshake);
          secure.once('secure', () => {
            clearTimeout(timer);
            resolve();
          });
          secure.once('error', (err) => {
            clearTimeout(timer);
            reject(err);
          });
        });
        input.attach(secure);
        session.secure = true;
      },
    };
    const session = new ImapSession(out, conn, log, { secure: opts.implicitTls, plaintextLogin: opts.plaintextLogin });
    const live: Live = {
      waiting: false,
      stopping: false,
      bye: () => {
        out.write('* BYE Server shutting down.\r\n');
        out.end();
        setTimeout(() => current.destroy(), 1000).unref();
      },
    };
    this.live.add(live);
    current.once('close', () => this.live.delete(live));
    const services = opts.services;
    if (services.login.isBanned(ip)) {
      log.info('refused: banned after failed logins');
      socket.end('* BYE Too many failed logins, try again later.\r\n');
      return;
    }
    let closing: string | undefined;
    /** BAD replies in a row. */
    let badCount = 0;
    session.loginSession = services.login.open(ip, () => {
      log.info('closed: client banned after failed logins');
      out.write('* BYE Too many failed logins.\r\n');
      out.abort();
    });
    const setTimeouts = () => current.setTimeout(session.state === 'not-authenticated' ? opts.timeouts.preAuth : opts.timeouts.authenticated);
    const onTimeout = () => {
      out.write('* BYE Disconnected for inactivity.\r\n');
      out.end();
      setTimeout(() => current.destroy(), 1000).unref();
    };
    socket.on('timeout', onTimeout);
    setTimeouts();
    out.write(`* OK [CAPABILITY ${session.capabilities().join(' ')}] ${opts.hostname} tsmail ready.\r\n`);
    try {
      while (!current.destroyed && session.state !== 'logout') {
        await out.drained();
        if (live.stopping) {
          live.bye();
          break;
        }
        live.waiting = true;
        const ev = await input.next();
        live.waiting = false;
        if (ev === null) break;
        const ctx = (tag: string): CommandContext => ({ tag, session, services, log });
        if (ev.type === 'continue') {
          // A literal inside a command, within the limits (the framer refuses the others).
          out.write('+ OK\r\n');
          input.accept();
          continue;
        }
        if (ev.type === 'append') {
          if (!(await appendMessage(ctx(ev.tag), ev, input))) break;
          setTimeouts();
          continue;
        }
        if (ev.type === 'error') {
          out.write(errorLine(ev));
          if (ev.fatal) {
            out.write(`* BYE ${ev.message}\r\n`);
            break;
          }
          if (++badCount >= MAX_BAD_COMMANDS) {
            closing = 'Too many invalid IMAP commands.';
            break;
          }
          continue;
        }
        // APPEND's literal events are taken by appendMessage; none come here.
        if (ev.type !== 'command') continue;
        const parsed = parseCommand(ev.frame, { utf8Accept: session.utf8 });
        if (!parsed.ok) {
          out.write(parsed.tag ? `${parsed.tag} BAD ${parsed.message}\r\n` : `* BAD ${parsed.message}\r\n`);
          if (++badCount >= MAX_BAD_COMMANDS) {
            closing = 'Too many invalid IMAP commands.';
            break;
          }
          continue;
        }
        const reply = await this.dispatcher.dispatch(ctx(parsed.tag), parsed.command);
        if (reply.status !== 'BAD') badCount = 0;
        else if (++badCount >= MAX_BAD_COMMANDS) {
          closing = 'Too many invalid IMAP commands.';
          break;
        }
        if (parsed.command.name === 'STARTTLS' && reply.status === 'OK') {
          current.off('timeout', onTimeout);
          await conn.startTls();
          current.on('timeout', onTimeout);
        }
        if (session.closeAfterReply) {
          closing = session.closeAfterReply;
          break;
        }
        setTimeouts();
      }
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'session ended by error');
    } finally {
      this.live.delete(live);
      session.loginSession?.close();
      if (closing) out.write(`* BYE ${closing}\r\n`);
      await session.end();
      if (!current.destroyed) {
        out.end();
        setTimeout(() => current.destroy(), 5000).unref();
      }
    }
  }
}

/** The reply to a command the framer refused: APPEND's message over the limit is `NO [TOOBIG]`. */
function errorLine(ev: Extract<FramerEvent, { type: 'error' }>): string {
  if (ev.tag === undefined) return `* BAD ${ev.message}\r\n`;
  if (ev.tooBig && / APPEND: /.test(ev.message)) return formatTagged(ev.tag, no('Mail too big', 'TOOBIG'));
  return formatTagged(ev.tag, bad(ev.message));
}
