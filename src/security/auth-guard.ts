/**
 * What fail2ban did in the seeds, built in and shared by SMTP submission, IMAP and POP3: failed
 * logins are counted per client IP and per account within a window. Past the threshold the IP
 * is banned for `banMs` (new connections get 421 / BYE), and until then every further failure is
 * answered more slowly (a later successful login does not wipe the count: fail2ban's rule, so
 * one known password cannot launder guesses at others). Clients in `ignore` (fail2ban's ignoreip: loopback and mynetworks by
 * default) are never banned, but their failures are still slowed down; an account under attack
 * from many IPs is only slowed down, never locked, so nobody can lock a user out.
 */
import type { NetworkList } from '../core/cidr.js';
import { RateWindow } from './rate-window.js';

export interface AuthGuardOptions {
  maxFailures: number;
  windowMs: number;
  banMs: number;
  ignore: NetworkList;
  now?: () => number;
  /** Longest delay before a failure reply (ms). */
  maxDelayMs?: number;
}

export class AuthGuard {
  private readonly byIp: RateWindow;
  private readonly byAccount: RateWindow;
  private readonly bans = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly opts: AuthGuardOptions) {
    this.now = opts.now ?? Date.now;
    this.byIp = new RateWindow(opts.windowMs, this.now);
    this.byAccount = new RateWindow(opts.windowMs, this.now);
  }

  isBanned(ip: string): boolean {
    const until = this.bans.get(ip);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.bans.delete(ip);
    return false;
  }

  /** Records a failed login; returns how long to wait before answering it (ms). */
  failure(ip: string, account: string): number {
    const ipCount = this.byIp.hit(ip);
    const accountCount = this.byAccount.hit(account.toLowerCase());
    if (ipCount >= this.opts.maxFailures && !this.opts.ignore.has(ip)) {
      this.bans.set(ip, this.now() + this.opts.banMs);
      this.byIp.reset(ip);
    }
    const worst = Math.max(ipCount, accountCount);
    return Math.min(this.opts.maxDelayMs ?? 5000, worst <= 1 ? 0 : 250 * 2 ** Math.min(worst - 2, 5));
  }
}
