/**
 * One IMAP connection's state (RFC 9051 3): not authenticated → authenticated ⇄ selected →
 * logout, the user's mailbox once logged in, the selected mailbox's view, and what the client
 * has enabled. Writing goes through `Output`, which the server backs with the socket.
 */
import type { Logger } from '../../core/logger.js';
import type { MailUser } from '../../directory/types.js';
import type { Mailbox } from '../../mailstore/types.js';
import type { LoginSession } from '../sasl/login-service.js';
import { capabilities, type CapabilityContext } from './capabilities.js';
import { SelectedMailbox } from './selected.js';

export type SessionState = 'not-authenticated' | 'authenticated' | 'selected' | 'logout';

/** Where responses go. `drained()` resolves once the socket's write buffer is below its limit. */
export interface Output {
  write(data: string | Buffer): void;
  drained(): Promise<void>;
  /** The client is gone: long responses stop early. */
  readonly closed: boolean;
  /** Cuts the connection (a response broken off midway cannot be repaired on the wire). */
  abort(): void;
}

/** What the connection (server.ts) does for commands that touch it. */
export interface Connection {
  /** The client's next line (AUTHENTICATE responses, IDLE's DONE); null when it went away. */
  nextLine(): Promise<Buffer | null>;
  /** RFC 9051 6.2.1: after the tagged OK is written, the TLS handshake; the session goes on over TLS. */
  startTls(): Promise<void>;
  readonly canStartTls: boolean;
  readonly ip: string;
}

export class ImapSession {
  state: SessionState = 'not-authenticated';
  user: MailUser | undefined;
  mailbox: Mailbox | undefined;
  selected: SelectedMailbox | undefined;
  /** ENABLEd extensions, upper case (RFC 5161). */
  readonly enabled = new Set<string>();
  /** RFC 7162 3.1: CONDSTORE turned on by ENABLE, SELECT (CONDSTORE) or a command using it. */
  condstore = false;
  secure: boolean;
  /** The login path shared with submission and POP3 (bans, delays), set by the server at connect. */
  loginSession: LoginSession | undefined;
  /** Set by a command: after its tagged reply, `* BYE <text>` and the connection closes. */
  closeAfterReply: string | undefined;

  constructor(
    readonly out: Output,
    readonly conn: Connection,
    readonly log: Logger,
    opts: { secure: boolean; plaintextLogin: boolean },
  ) {
    this.secure = opts.secure;
    this.plaintextLogin = opts.plaintextLogin;
  }

  private readonly plaintextLogin: boolean;

  get rev2(): boolean {
    return this.enabled.has('IMAP4REV2');
  }

  /** Mailbox names in UTF-8 on the wire: IMAP4rev2 (RFC 9051 5.1), else modified UTF-7. */
  get utf8(): boolean {
    return this.rev2;
  }

  capabilityContext(): CapabilityContext {
    return { secure: this.secure, starttls: this.conn.canStartTls, plaintextLogin: this.plaintextLogin, authenticated: this.state !== 'not-authenticated' };
  }

  capabilities(): string[] {
    return capabilities(this.capabilityContext());
  }

  untagged(text: string): void {
    this.out.write(`* ${text}\r\n`);
  }

  /** An untagged response with byte pieces (a UTF-8 or literal mailbox name): written as bytes. */
  untaggedParts(...parts: (string | Buffer)[]): void {
    this.out.write(Buffer.concat([Buffer.from('* '), ...parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)), Buffer.from('\r\n')]));
  }

  loggedIn(user: MailUser, mailbox: Mailbox): void {
    this.user = user;
    this.mailbox = mailbox;
    this.state = 'authenticated';
  }

  /** Leaves the selected mailbox (CLOSE, UNSELECT, another SELECT, LOGOUT). */
  async deselect(): Promise<void> {
    const s = this.selected;
    this.selected = undefined;
    if (this.state === 'selected') this.state = 'authenticated';
    if (s) await s.folder.close();
  }

  /** The session ends: the folder and mailbox are released (the connection closed or LOGOUT). */
  async end(): Promise<void> {
    await this.deselect().catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'closing folder failed'));
    const m = this.mailbox;
    this.mailbox = undefined;
    this.state = 'logout';
    await m?.close().catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'closing mailbox failed'));
  }

  /**
   * Tells the client what changed in the selected mailbox since it last heard (RFC 9051 7.3.1,
   * 7.5.1, 7.5.2). Only where EXPUNGE may be sent (RFC 9051 7.5.1: not during FETCH, STORE,
   * SEARCH, which then do not look for changes at all: the sequence numbers stay as they are).
   */
  async reportChanges(): Promise<void> {
    if (this.selected) await this.selected.report(this);
  }
}
