/**
 * What every SMTP-family listener (port 25, submission, LMTP) shares on top of the adapted
 * smtp-server: the server options, one context per session with its own child logger (so no log
 * line can forget the session id), RFC 5321 parameter checking (Postfix's strict_rfc821_envelopes
 * answers an unknown MAIL/RCPT parameter with `555 5.5.4`), and the one catch site where a
 * listener's hooks are answered: a Refusal is worded by replies.ts, a thrown error is logged and
 * mapped by meaning, and nothing leaves a client waiting.
 *
 * The DATA flow shared by port 25 and submission is here too (`routedData`): the message is
 * staged once (in memory, or a spill file when large), inspected by the listener (sender
 * authentication, From check), blind copies added, and committed to mailboxes and spool together.
 */
import type net from 'node:net';
import type tls from 'node:tls';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream';
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import type { Logger } from '../../core/logger.js';
import { StagedMessage } from '../../core/staged-message.js';
import type { RoutedTransaction, RoutingEnvelope, TransactionRouter } from '../../delivery/types.js';
import type { LoginAttempt } from '../sasl/login-service.js';
import { drain, messageData } from './data-stream.js';
import { type HeaderFacts, IncomingHeaders } from './incoming-headers.js';
import { type Refusal, type SmtpReply, errorReply, queued, reply, replyError } from './replies.js';
import { AdaptedSmtpServer, type SessionLimits } from './server-adapter.js';

/** One session's state, created when the client connects. */
export interface SmtpContext<T> {
  readonly id: string;
  readonly session: SMTPServerSession;
  /** The listener's logger with `session` (and the client's address) bound. */
  readonly log: Logger;
  /** The current transaction, from MAIL FROM to the end of DATA. */
  tx: T | undefined;
  /** Messages taken in this session so far: each gets its own queue id (`queueId`). */
  messages: number;
}

/** A listener's answers; each resolves to null (accept) or a Refusal, or throws. */
export interface SmtpHooks<T> {
  connect?(ctx: SmtpContext<T>): Promise<Refusal | null> | Refusal | null;
  close?(ctx: SmtpContext<T>): void;
  /** The authenticated user's name for a finished SASL exchange, or why not (auth-command.ts). */
  auth?(ctx: SmtpContext<T>, attempt: LoginAttempt): Promise<string | Refusal>;
  mailFrom(ctx: SmtpContext<T>, address: SMTPServerAddress): Promise<Refusal | null>;
  rcptTo(ctx: SmtpContext<T>, address: SMTPServerAddress): Promise<Refusal | null>;
  /** One reply, or one per accepted recipient for LMTP. */
  data(ctx: SmtpContext<T>, stream: SMTPServerDataStream): Promise<SmtpReply | SmtpReply[]>;
}

export interface SmtpServiceOptions {
  hostname: string;
  /** Text after `220 <hostname> ESMTP`. */
  banner: string;
  maxMessageSize: number;
  /** smtpd_timeout, max clients, recipient limit, greet pause (server-adapter.ts). */
  limits?: SessionLimits;
  log: Logger;
  lmtp?: boolean;
  /** The socket is TLS from the start (465). */
  implicitTls?: boolean;
  /** STARTTLS (and implicit TLS) certificates, and a way to be told of new ones (SIGHUP); none: no TLS. */
  tls?: { options: () => tls.TlsOptions; attach: (server: { setSecureContext(o: tls.SecureContextOptions): void }) => void };
  /** AUTH PLAIN/LOGIN, only over TLS, and required before MAIL (submission). */
  auth?: boolean;
  /** Session ids, shared by the listeners of a process (core/session-id.ts); default: one source per listener. */
  sessionIds?: () => string;
  /** MAIL FROM parameters beyond SIZE, BODY, SMTPUTF8, RET and ENVID that this listener takes. */
  extraMailParameters?: readonly string[];
}

/** RFC 1870, 6152, 6531 and 3461: the MAIL parameters of the extensions every listener offers. */
const MAIL_PARAMETERS = ['SIZE', 'BODY', 'SMTPUTF8', 'RET', 'ENVID'];
/** RFC 3461 NOTIFY and ORCPT. */
const RCPT_PARAMETERS = new Set(['NOTIFY', 'ORCPT']);
/** Messages up to this size are staged in memory; larger ones in a file beside the spool. */
const STAGE_IN_MEMORY = 1024 * 1024;

export class SmtpService<T> {
  protected readonly server: AdaptedSmtpServer;
  private readonly contexts = new WeakMap<SMTPServerSession, SmtpContext<T>>();
  private readonly mailParameters: ReadonlySet<string>;

  constructor(protected readonly base: SmtpServiceOptions, hooks: SmtpHooks<T>) {
    this.mailParameters = new Set([...MAIL_PARAMETERS, ...(base.extraMailParameters ?? [])]);
    const server = new AdaptedSmtpServer({
      ...(base.tls?.options() ?? {}),
      name: base.hostname,
      banner: base.banner,
      size: base.maxMessageSize,
      lmtp: base.lmtp ?? false,
      secure: base.implicitTls ?? false,
      ...(base.auth
        ? { authMethods: ['PLAIN', 'LOGIN'], allowInsecureAuth: false, authOptional: false }
        : { authOptional: true }),
      disabledCommands: [...(base.auth ? [] : ['AUTH']), ...(base.tls ? [] : ['STARTTLS']), 'VRFY'],
      hideENHANCEDSTATUSCODES: false,
      hideDSN: false,
      hide8BITMIME: false,
      hidePIPELINING: false,
      hideSMTPUTF8: false,
      disableReverseLookup: true,
      logger: false,
      onConnect: (session, cb) => {
        const ctx = this.context(session);
        if (!hooks.connect) return cb();
        this.settle(ctx, async () => hooks.connect!(ctx), cb);
      },
      ...(base.auth && hooks.auth
        ? {
            login: async (session: SMTPServerSession, attempt: LoginAttempt) => {
              const ctx = this.context(session);
              try {
                const user = await hooks.auth!(ctx, attempt);
                return typeof user === 'string' ? user : reply(user);
              } catch (err) {
                return this.failed(ctx, err);
              }
            },
          }
        : {}),
      onMailFrom: (address, session, cb) => {
        const ctx = this.context(session);
        ctx.tx = undefined;
        this.settle(ctx, async () => this.unsupported(address, this.mailParameters) ?? hooks.mailFrom(ctx, address), cb);
      },
      onRcptTo: (address, session, cb) => {
        const ctx = this.context(session);
        this.settle(ctx, async () => this.unsupported(address, RCPT_PARAMETERS) ?? hooks.rcptTo(ctx, address), cb);
      },
      onData: (stream, session, cb) => {
        const ctx = this.context(session);
        const done = (result: SmtpReply | SmtpReply[]) => {
          if (Array.isArray(result)) return cb(null, result.map((r) => (r.code === 250 ? r.text : replyError(r))));
          cb(result.code === 250 ? null : replyError(result), result.text);
        };
        hooks.data(ctx, stream).then(done, async (err: unknown) => {
          await drain(stream);
          const r = this.failed(ctx, err, 'message not stored');
          done(base.lmtp ? session.envelope.rcptTo.map(() => r) : r);
        }).finally(() => {
          ctx.tx = undefined;
        });
      },
    }, base.limits, (session) => {
      const ctx = this.contexts.get(session);
      if (ctx) hooks.close?.(ctx);
    }, base.sessionIds);
    // smtp-server's own copy of the TLS options is what STARTTLS uses: keep it current.
    base.tls?.attach({ setSecureContext: (o) => server.updateSecureContext(o) });
    server.on('error', (err) => base.log.debug({ err: err.message }, 'smtp session error'));
    this.server = server;
  }

  /** The listener's connection handler; `adopt` learns of the TLS socket after STARTTLS. */
  handle(socket: net.Socket, adopt?: (replacement: net.Socket) => void): void {
    this.server.accept(socket, adopt);
  }

  /** Ends a session from outside its own commands (its client got banned): the reply, then close. */
  protected disconnect(ctx: SmtpContext<T>, refusal: Refusal): void {
    this.server.drop(ctx.session, reply(refusal));
  }

  /** True when this session's client talked before the greeting (greet pause). */
  protected talkedEarly(ctx: SmtpContext<T>): boolean {
    return this.server.talkedEarly(ctx.session);
  }

  private context(session: SMTPServerSession): SmtpContext<T> {
    let ctx = this.contexts.get(session);
    if (!ctx) {
      ctx = { id: session.id, session, log: this.base.log.child({ session: session.id, ip: session.remoteAddress }), tx: undefined, messages: 0 };
      this.contexts.set(session, ctx);
    }
    return ctx;
  }

  /** The one catch site of a hook: null accepts, a Refusal is worded, an error is logged and mapped. */
  private settle(ctx: SmtpContext<T>, work: () => Promise<Refusal | null>, cb: (err?: Error | null) => void): void {
    work().then(
      (refusal) => cb(refusal ? replyError(reply(refusal)) : null),
      (err: unknown) => cb(replyError(this.failed(ctx, err))),
    );
  }

  private failed(ctx: SmtpContext<T>, err: unknown, what = 'command failed'): SmtpReply {
    const r = errorReply(err);
    ctx.log.warn({ err: (err as Error)?.message, reply: r.code }, what);
    return r;
  }

  /** strict_rfc821_envelopes: a parameter of an extension we do not offer is refused. */
  private unsupported(address: SMTPServerAddress, allowed: ReadonlySet<string>): Refusal | null {
    for (const [key, value] of Object.entries(address.args || {})) {
      if (!allowed.has(key)) return { kind: 'unsupported-parameter', parameter: value === true ? key : `${key}=${String(value)}` };
    }
    return null;
  }

  /**
   * DATA of a routed transaction (port 25, submission): stage, with the header section cleaned
   * on the way in (incoming-headers.ts: dropped headers, forged Authentication-Results, the
   * missing From) → hop count → `inspect` (a refusal, and header lines for the top; it gets
   * what was found in the headers) → blind copies → commit to spool and mailboxes. `250` only
   * when the message is durable for every recipient.
   */
  protected async routedData(
    ctx: SmtpContext<T>,
    stream: SMTPServerDataStream,
    flow: {
      routing: RoutedTransaction;
      router: TransactionRouter;
      /** A message without From gets `From: <this>` (submission). */
      missingFrom?: string;
      inspect(staged: StagedMessage, headers: HeaderFacts): Promise<{ refusal: Refusal | null; head: string }>;
    },
  ): Promise<SmtpReply> {
    // Our authserv-id is the hostname, as in the Authentication-Results mail-auth.ts writes.
    const headers = new IncomingHeaders({ authservId: this.base.hostname, missingFrom: flow.missingFrom });
    const staged = await this.stage(ctx, stream, flow.router, headers.filter());
    if (!(staged instanceof StagedMessage)) return reply(staged);
    try {
      if (headers.tooManyHops) {
        ctx.log.info({ received: headers.facts.received }, 'refused: too many hops');
        return reply({ kind: 'too-many-hops' });
      }
      const { refusal, head } = await flow.inspect(staged, headers.facts);
      if (refusal) return reply(refusal);
      await flow.routing.addBlindCopies();
      const outcome = await flow.routing.commit(staged, head);
      const taken = { from: flow.routing.sender, local: flow.routing.local, remote: flow.routing.remote, outcome: outcome.kind };
      if (outcome.kind !== 'stored') {
        ctx.log.info(taken, 'message taken');
        return reply(outcome);
      }
      // Postfix gives every message its own queue id; a session may carry several messages.
      const queue = `${ctx.id}.${++ctx.messages}`;
      ctx.log.info({ ...taken, queue, ...(outcome.spooled ? { spooled: outcome.spooled } : {}) }, 'message taken');
      return queued(queue);
    } finally {
      await staged.dispose();
    }
  }

  /** Reads DATA into a staged copy, size-limited; too big or the client gone give a Refusal. */
  private async stage(ctx: SmtpContext<T>, stream: SMTPServerDataStream, router: TransactionRouter, filter: Transform): Promise<StagedMessage | Refusal> {
    const limited = messageData(stream, this.base.maxMessageSize);
    const source = pipeline(limited.out, filter, () => {});
    try {
      return await StagedMessage.from(source, { spillPath: () => router.stagingPath(), memoryLimit: STAGE_IN_MEMORY });
    } catch (err) {
      await drain(stream);
      if (limited.exceeded) return { kind: 'too-big' };
      ctx.log.info({ err: (err as Error).message }, 'message not received');
      return { kind: 'temp', reason: 'message not received' };
    }
  }
}

/** The routing envelope of MAIL FROM: sender, SIZE= and the DSN parameters. */
export function envelopeOf(address: SMTPServerAddress): RoutingEnvelope {
  const args = address.args || {};
  const size = typeof args.SIZE === 'string' ? Number(args.SIZE) : undefined;
  return {
    sender: address.address,
    ...(size !== undefined && Number.isSafeInteger(size) ? { size } : {}),
    ...(typeof args.RET === 'string' ? { ret: args.RET.toUpperCase() } : {}),
    ...(typeof args.ENVID === 'string' ? { envid: args.ENVID } : {}),
  };
}
