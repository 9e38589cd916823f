/**
 * What fail2ban did in the seeds, built in and shared by SMTP submission, IMAP and POP3: failed
 * logins are counted per client IP and per account within a window, on whatever connection they
 * come. Past the threshold the IP is banned for `banMs`: new connections get 421 / BYE, every
 * further AUTH is refused even with the right password, and the IP's open sessions are told
 * (`watch`) so that they close. Bans do not wipe the count: failures keep counting, so the
 * delays keep growing and a client that fails again right after its ban is banned again at once.
 * A later successful login does not wipe it either (fail2ban's rule, so one known password cannot
 * launder guesses at others).
 *
 * Every failure is answered after a delay: Dovecot's `auth_failure_delay` (2 s) for the first,
 * doubling with each failure counted for the IP or the account, up to `maxDelayMs` (Dovecot's auth
 * penalty grows the same way, up to 15 s). So a wrong password and an unknown user take the same
 * time, and guessing gets slower the more it is tried. Clients in `ignore` (fail2ban's ignoreip:
 * loopback by default) are never banned, only slowed down; an account under attack from many
 * IPs is only slowed down, never locked, so nobody can lock a user out.
 *
 * Memory is bounded: expired bans and counts are swept on the way (at most once a second), the
 * counters cap their keys, and a watcher lives only as long as its session.
 */
import type { NetworkList } from '../core/cidr.js';
import { RateWindow } from './rate-window.js';

export interface AuthGuardOptions {
  maxFailures: number;
  windowMs: number;
  banMs: number;
  ignore: NetworkList;
  now?: () => number;
  /** Dovecot auth_failure_delay: the delay before the first failure's reply (ms, default 2000). */
  failureDelayMs?: number;
  /** Longest delay before a failure reply (ms, default 15000: Dovecot's AUTH_PENALTY_MAX_SECS). */
  maxDelayMs?: number;
  /** Most IPs and accounts counted at once (default 100 000); the oldest are forgotten first. */
  maxKeys?: number;
}

/** A session's subscription to its IP's ban; `close()` when the session ends. */
export interface BanWatch {
  close(): void;
}

const SWEEP_EVERY_MS = 1000;

export class AuthGuard {
  private readonly byIp: RateWindow;
  private readonly byAccount: RateWindow;
  private readonly bans = new Map<string, number>();
  /** Open sessions by client IP, told when their IP is banned. */
  private readonly watchers = new Map<string, Set<() => void>>();
  private readonly now: () => number;
  private readonly failureDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxKeys: number;
  private lastSweep = 0;

  constructor(private readonly opts: AuthGuardOptions) {
    this.now = opts.now ?? Date.now;
    this.maxKeys = opts.maxKeys ?? 100_000;
    this.byIp = new RateWindow(opts.windowMs, this.now, this.maxKeys);
    this.byAccount = new RateWindow(opts.windowMs, this.now, this.maxKeys);
    this.failureDelayMs = opts.failureDelayMs ?? 2000;
    this.maxDelayMs = opts.maxDelayMs ?? 15_000;
  }

  isBanned(ip: string): boolean {
    const until = this.bans.get(ip);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.bans.delete(ip);
    return false;
  }

  /**
   * Records a failed login (`account` null when none could be read) and returns how long to
   * wait before answering it (ms). Reaching the threshold bans the IP (or extends its ban) and
   * tells its open sessions.
   */
  failure(ip: string, account: string | null): number {
    this.sweep();
    const ipCount = this.byIp.hit(ip);
    const accountCount = account === null ? 0 : this.byAccount.hit(account.toLowerCase());
    if (ipCount >= this.opts.maxFailures && !this.opts.ignore.has(ip)) this.ban(ip);
    const worst = Math.max(ipCount, accountCount);
    return Math.min(Math.max(this.maxDelayMs, this.failureDelayMs), this.failureDelayMs * 2 ** Math.min(worst - 1, 16));
  }

  /** Calls `onBan` when `ip` gets banned, until the returned watch is closed. */
  watch(ip: string, onBan: () => void): BanWatch {
    let set = this.watchers.get(ip);
    if (!set) this.watchers.set(ip, (set = new Set()));
    const entry = () => onBan();
    set.add(entry);
    return {
      close: () => {
        const current = this.watchers.get(ip);
        if (!current?.delete(entry)) return;
        if (current.size === 0) this.watchers.delete(ip);
      },
    };
  }

  /** Counted failures and bans held (for tests and metrics). */
  get size(): { ips: number; accounts: number; bans: number; watchedIps: number } {
    return { ips: this.byIp.size, accounts: this.byAccount.size, bans: this.bans.size, watchedIps: this.watchers.size };
  }

  private ban(ip: string): void {
    const wasBanned = this.isBanned(ip);
    this.bans.delete(ip);
    this.bans.set(ip, this.now() + this.opts.banMs);
    // Bans are few next to counted IPs, but a flood of addresses must not grow them either.
    if (this.bans.size > this.maxKeys) this.bans.delete(this.bans.keys().next().value!);
    if (wasBanned) return;
    // A copy: a watcher's close() (its session ending) changes the set.
    for (const notify of [...(this.watchers.get(ip) ?? [])]) notify();
  }

  /** Drops expired bans and counts (purge on write, at most once per SWEEP_EVERY_MS). */
  private sweep(): void {
    const now = this.now();
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    for (const [ip, until] of this.bans) if (until <= now) this.bans.delete(ip);
    this.byIp.purge();
    this.byAccount.purge();
  }
}
