/**
 * Submission for users: port 587 (STARTTLS) and 465 (implicit TLS), as the seeds' master.cf
 * `submission`/`smtps` services: AUTH PLAIN/LOGIN only over TLS (`538 5.7.11` before it), MAIL
 * only after AUTH (`530 5.7.0`), and the authenticated user may only send as its own addresses
 * and aliases — envelope sender and From header (Postfix reject_sender_login_mismatch, `553 5.7.1`).
 *
 * The message is first staged (one write, parsed for its From header on the way), then stored
 * for local recipients through delivery and for others in the durable outbound spool; `250`
 * comes only when both are durable.
 */
import { createReadStream } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import type net from 'node:net';
import type tls from 'node:tls';
import addressparser from 'nodemailer/lib/addressparser';
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { AuthFailure, TempFailure } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { DeliveryService, DeliveryTx, RecipientStatus } from '../../delivery/types.js';
import type { UserDirectory } from '../../directory/types.js';
import { drain, limitSize } from './data-stream.js';
import { AdaptedSmtpServer, type SessionLimits } from './server-adapter.js';
import { receivedHeader } from './received.js';
import { type SmtpReply, TEMP_FAILURE, TOO_BIG, answer, answerData, rcptReply, replyError } from './replies.js';

export interface LoginGuard {
  isBanned(ip: string): boolean;
  /** Returns the delay (ms) before answering the failure. */
  failure(ip: string, account: string): number;
}

/** Where relayed mail waits for the queue manager (queue/spool.ts). */
export interface OutboundSpool {
  /** A path for the staged message (same filesystem as the spool). */
  stagingPath(): string;
  enqueue(envelope: { from: string; to: string[] }, message: NodeJS.ReadableStream | Buffer): Promise<string>;
}

export interface SubmissionOptions {
  /** smtpd_timeout and max clients (server-adapter.ts). */
  limits?: SessionLimits;
  hostname: string;
  maxMessageSize: number;
  /** true for 465: the socket is TLS from the start. */
  implicitTls: boolean;
  rejectSenderLoginMismatch: boolean;
  /** Failed-login counting and bans (security/auth-guard.ts). */
  guard: LoginGuard;
  directory: UserDirectory;
  delivery: DeliveryService;
  spool: OutboundSpool;
  tls: () => tls.TlsOptions;
  attachTls: (server: { setSecureContext(o: tls.SecureContextOptions): void }) => void;
  log: Logger;
  now?: () => Date;
}

const AUTH_FAILED: SmtpReply = { code: 535, text: '5.7.8 Error: authentication failed' };
const AUTH_TEMP: SmtpReply = { code: 454, text: '4.7.0 Temporary authentication failure' };
const BANNED: SmtpReply = { code: 421, text: '4.7.0 Too many failed logins from your address, try again later' };
const MAX_HEADER_BYTES = 256 * 1024;

interface Transaction {
  tx: DeliveryTx;
  sender: string;
  local: string[];
  remote: string[];
}

export class SubmissionService {
  private readonly server: AdaptedSmtpServer;
  private readonly txs = new WeakMap<SMTPServerSession, Transaction>();

  constructor(private readonly opts: SubmissionOptions) {
    const server = new AdaptedSmtpServer({
      ...opts.tls(),
      secure: opts.implicitTls,
      name: opts.hostname,
      banner: 'tsmail submission',
      size: opts.maxMessageSize,
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: false,
      authOptional: false,
      disabledCommands: ['VRFY'],
      hideENHANCEDSTATUSCODES: false,
      hideDSN: false,
      disableReverseLookup: true,
      logger: false,
      onConnect: (session, cb) => {
        if (!opts.guard.isBanned(session.remoteAddress)) return cb();
        opts.log.info({ ip: session.remoteAddress }, 'refused: banned after failed logins');
        cb(replyError(BANNED));
      },
      onAuth: (auth, session, cb) => {
        void this.auth(auth.username ?? '', auth.password ?? '', session).then(
          (user) => cb(null, { user }),
          (reply: SmtpReply) => cb(replyError(reply)),
        );
      },
      onMailFrom: (address, session, cb) => {
        answer(this.mailFrom(address.address, session), cb);
      },
      onRcptTo: (address, session, cb) => {
        answer(this.rcpt(address.address, session), cb);
      },
      onData: (stream, session, cb) => {
        answerData(this.data(stream, session), cb);
      },
    }, opts.limits);
    opts.attachTls({ setSecureContext: (o) => server.updateSecureContext(o) });
    server.on('error', (err) => opts.log.debug({ err: err.message }, 'submission session error'));
    this.server = server;
  }

  handle(socket: net.Socket, adopt?: (replacement: net.Socket) => void): void {
    // For 465 the listener already did the TLS handshake; with `secure` (and no needsUpgrade)
    // smtp-server takes the socket as the TLS connection it is.
    this.server.accept(socket, adopt);
  }

  private async auth(username: string, password: string, session: SMTPServerSession): Promise<string> {
    try {
      const user = await this.opts.directory.authenticate(username, password);
      if (!user) throw new AuthFailure('bad credentials');
      this.opts.log.info({ session: session.id, user: user.user, ip: session.remoteAddress }, 'submission login');
      return user.user;
    } catch (err) {
      this.opts.log.warn({ session: session.id, user: username, ip: session.remoteAddress, err: (err as Error).message }, 'submission login failed');
      if (err instanceof TempFailure) throw AUTH_TEMP;
      const delay = this.opts.guard.failure(session.remoteAddress, username);
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      throw AUTH_FAILED;
    }
  }

  private async mailFrom(sender: string, session: SMTPServerSession): Promise<SmtpReply | null> {
    const user = session.user as string;
    if (sender !== '' && this.opts.rejectSenderLoginMismatch) {
      const mismatch = await this.notOwned(user, [sender]);
      if (mismatch) return mismatch;
    }
    this.txs.set(session, { tx: this.opts.delivery.begin({ sender }), sender, local: [], remote: [] });
    return null;
  }

  /** reject_sender_login_mismatch: every address must be the user's own or an alias of it. */
  private async notOwned(user: string, addresses: string[]): Promise<SmtpReply | null> {
    for (const address of addresses) {
      try {
        if (!(await this.opts.directory.ownsAddress(user, address))) {
          return { code: 553, text: `5.7.1 <${address}>: Sender address rejected: not owned by user ${user}` };
        }
      } catch (err) {
        if (err instanceof TempFailure) return TEMP_FAILURE;
        return { code: 553, text: `5.7.1 <${address}>: Sender address rejected: not owned by user ${user}` };
      }
    }
    return null;
  }

  private async rcpt(address: string, session: SMTPServerSession): Promise<SmtpReply | null> {
    const t = this.txs.get(session);
    if (!t) return TEMP_FAILURE;
    let status: RecipientStatus | null;
    try {
      status = await t.tx.addRecipient(address);
    } catch {
      return TEMP_FAILURE;
    }
    if (status?.kind === 'relay') {
      // permit_sasl_authenticated: mail for other domains goes to the outbound spool.
      t.remote.push(address);
      return null;
    }
    const reply = rcptReply(status);
    if (!reply) t.local.push(address);
    return reply;
  }

  private async data(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<SmtpReply> {
    const t = this.txs.get(session);
    this.txs.delete(session);
    if (!t) {
      await drain(stream);
      return TEMP_FAILURE;
    }
    const staged = this.opts.spool.stagingPath();
    const limited = limitSize(stream, this.opts.maxMessageSize);
    try {
      try {
        await writeFileFrom(staged, Buffer.from(this.received(session)), limited.out);
      } catch (err) {
        await drain(stream);
        if (limited.exceeded) return TOO_BIG;
        throw err;
      }
      if (this.opts.rejectSenderLoginMismatch) {
        const from = fromAddresses(await readHeaderBlock(staged));
        const mismatch = await this.notOwned(session.user as string, from);
        if (mismatch) return mismatch;
      }
      if (t.remote.length) await this.opts.spool.enqueue({ from: t.sender, to: t.remote }, createReadStream(staged));
      if (t.local.length) {
        const results = await t.tx.commit(createReadStream(staged));
        const failed = results.find((r) => r.kind !== 'delivered');
        if (failed) return rcptReply(failed) ?? TEMP_FAILURE;
      }
      this.opts.log.info({ session: session.id, user: session.user, local: t.local, remote: t.remote }, 'submission accepted');
      return { code: 250, text: `2.0.0 Ok: queued as ${session.id}` };
    } catch (err) {
      this.opts.log.warn({ session: session.id, err: (err as Error).message }, 'submission not stored');
      return TEMP_FAILURE;
    } finally {
      await unlink(staged).catch(() => {});
    }
  }

  private received(session: SMTPServerSession): string {
    return receivedHeader(session, this.opts.hostname, { user: session.user as string, date: this.opts.now?.() ?? new Date() });
  }

}

async function writeFileFrom(file: string, head: Buffer, body: NodeJS.ReadableStream): Promise<void> {
  const fh = await open(file, 'wx', 0o600);
  try {
    await fh.write(head);
    for await (const chunk of body) await fh.write(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  } catch (err) {
    await fh.close();
    await unlink(file).catch(() => {});
    throw err;
  }
  await fh.close();
}

/** The header section of the staged message (up to the first empty line). */
async function readHeaderBlock(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(MAX_HEADER_BYTES), 0, MAX_HEADER_BYTES, 0);
    const text = buffer.subarray(0, bytesRead).toString('latin1');
    const end = text.search(/\r?\n\r?\n/);
    return end < 0 ? text : text.slice(0, end);
  } finally {
    await fh.close();
  }
}

/** Addresses of every From: field (unfolded; RFC 5322 3.6.2), lower-cased. */
export function fromAddresses(headers: string): string[] {
  const unfolded = headers.replace(/\r?\n[ \t]+/g, ' ');
  const out: string[] = [];
  for (const line of unfolded.split(/\r?\n/)) {
    const m = /^from:(.*)$/i.exec(line);
    if (!m) continue;
    for (const a of addressparser(m[1]!, { flatten: true })) if ('address' in a && a.address) out.push(a.address);
  }
  return out;
}

