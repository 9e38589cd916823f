/**
 * The one login path of every protocol (SMTP submission now, IMAP and POP3 later): each client
 * session opens a `LoginSession`, hands it what its SASL exchange (or plaintext LOGIN/USER+PASS)
 * yielded, and words the typed result in its own replies.
 *
 * An attempt goes: ban check (every attempt, not only at connect) → user name rules and the
 * directory's password check (which refuses overlong passwords and verifies unknown users against
 * a dummy hash) → failure accounting in the guard (per IP and per account, whatever connection)
 * → the failure delay (Dovecot's auth_failure_delay, growing with the count). A session that
 * fails `maxFailuresPerConnection` times (3, as Dovecot's login processes allow) is told to
 * disconnect. When the client's IP gets banned, every other open session of it is told at once
 * (`onBanned`) and closes; the session whose failure started the ban gets its failure reply and
 * meets the ban at its next attempt.
 */
import { TempFailure } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { MailUser, UserDirectory } from '../../directory/types.js';
import type { LoginGuard } from '../../security/types.js';
import type { SaslOutcome } from './types.js';

export type LoginResult =
  | { kind: 'ok'; user: MailUser }
  /** A failed login, already delayed; `disconnect` once the session has failed too often. */
  | { kind: 'failed'; reason: string; disconnect: boolean }
  /** The directory cannot answer now: try again later (not counted). */
  | { kind: 'temp' }
  /** The client's IP is banned: refuse and disconnect, whatever the password. */
  | { kind: 'banned' };

/** What an attempt gets: anything but an abort, which is no login attempt at all. */
export type LoginAttempt = Exclude<SaslOutcome, { kind: 'aborted' }>;

export interface LoginServiceOptions {
  guard: LoginGuard;
  directory: Pick<UserDirectory, 'authenticate'>;
  /** Failed attempts a session may make before it is disconnected (default 3). */
  maxFailuresPerConnection?: number;
  log: Logger;
  /** Waits before a failure reply; injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Milliseconds on a monotonic clock; injectable for tests. */
  clock?: () => number;
}

const DEFAULT_MAX_FAILURES_PER_CONNECTION = 3;

export class LoginService {
  constructor(private readonly opts: LoginServiceOptions) {}

  /** True while `ip` is banned (a new connection is refused before its greeting). */
  isBanned(ip: string): boolean {
    return this.opts.guard.isBanned(ip);
  }

  /**
   * A client session from `ip`, open until `close()`. `onBanned` is called when the IP gets
   * banned by another session's failure while this one is not in the middle of an attempt.
   */
  open(ip: string, onBanned: () => void): LoginSession {
    return new LoginSession(ip, this.opts, onBanned);
  }
}

export class LoginSession {
  private failures = 0;
  /** Inside attempt(): a ban is reported through its result, not `onBanned`. */
  private attempting = false;
  private readonly watch: { close(): void };
  private readonly maxFailures: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly clock: () => number;

  constructor(
    private readonly ip: string,
    private readonly opts: LoginServiceOptions,
    onBanned: () => void,
  ) {
    this.maxFailures = opts.maxFailuresPerConnection ?? DEFAULT_MAX_FAILURES_PER_CONNECTION;
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.clock = opts.clock ?? (() => performance.now());
    this.watch = opts.guard.watch(ip, () => {
      if (!this.attempting) onBanned();
    });
  }

  async attempt(attempt: LoginAttempt): Promise<LoginResult> {
    const { guard } = this.opts;
    // Every attempt, on every connection: a ban that began after connect holds too.
    if (guard.isBanned(this.ip)) return { kind: 'banned' };
    this.attempting = true;
    const started = this.clock();
    try {
      if (attempt.kind === 'refused') return await this.fail(attempt.reason, attempt.username ?? null, started);
      const { username, password } = attempt.credentials;
      let user: MailUser | null;
      try {
        user = await this.opts.directory.authenticate(username, password, this.ip);
      } catch (err) {
        if (!(err instanceof TempFailure)) this.opts.log.error({ err: (err as Error).message }, 'login check failed');
        return { kind: 'temp' };
      }
      // A ban that began while the password was being checked holds, right password or not.
      if (guard.isBanned(this.ip)) {
        if (!user) guard.failure(this.ip, username);
        return { kind: 'banned' };
      }
      return user ? { kind: 'ok', user } : await this.fail('unknown user or wrong password', username, started);
    } finally {
      this.attempting = false;
    }
  }

  /** Ends the session's watch on its IP (the session is gone). */
  close(): void {
    this.watch.close();
  }

  /**
   * The failure delay counts from the attempt's start, not from the end of the password check:
   * a user that does not exist (checked against the dummy hash, made on first use), a hash of
   * another cost (bcrypt 12 beside SHA512-CRYPT) or a busy crypt pool then all answer at the same
   * moment, as Dovecot's failures, flushed every auth_failure_delay, do.
   */
  private async fail(reason: string, account: string | null, started: number): Promise<LoginResult> {
    const { guard } = this.opts;
    this.failures++;
    const wasBanned = guard.isBanned(this.ip);
    const delay = guard.failure(this.ip, account);
    // This failure started the ban: it is answered as a failure, and the next attempt meets the ban.
    const startedBan = !wasBanned && guard.isBanned(this.ip);
    const wait = delay - (this.clock() - started);
    if (wait > 0) await this.sleep(wait);
    // Banned meanwhile by another session's failure: this one closes like every other.
    if (!startedBan && guard.isBanned(this.ip)) return { kind: 'banned' };
    return { kind: 'failed', reason, disconnect: this.failures >= this.maxFailures };
  }
}
