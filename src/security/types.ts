/**
 * The checks the protocols ask security/ for, as interfaces (protocols import only this file).
 * Outcomes say what was found; each protocol's replies.ts words the refusal.
 */

/** Events per key in a time window (rate-window.ts). */
export interface RateCounter {
  /** Records one event; returns the count in the window, this one included. */
  hit(key: string): number;
}

/** Failed-login counting and bans (auth-guard.ts), shared by every login service. */
export interface LoginGuard {
  isBanned(ip: string): boolean;
  /**
   * Records a failure (`account` null when none could be read); returns the delay (ms) before
   * answering it. Reaching the threshold bans the IP and tells its watchers.
   */
  failure(ip: string, account: string | null): number;
  /** Calls `onBan` when `ip` gets banned, until `close()`: sessions watch their client's IP. */
  watch(ip: string, onBan: () => void): { close(): void };
}

/** reject_rbl_client (dnsbl.ts). */
export interface BlocklistCheck {
  readonly enabled: boolean;
  /** The first list naming `ip`, or null; lists that cannot be reached count as not listing it. */
  check(ip: string): Promise<{ zone: string; answer: string } | null>;
}

/**
 * reject_unknown_sender_domain (sender-domain.ts): what DNS says about a sender's domain.
 * `ok` also for domains we are final destination for. Throws TempFailure when DNS fails.
 */
export interface SenderDomainCheck {
  check(domain: string): Promise<'ok' | 'unknown' | 'null-mx'>;
}

/** Why sender authentication says the message must not be taken (mail-auth.ts). */
export type AuthRefusal =
  /** DMARC fail with p=reject for this domain. */
  | { kind: 'dmarc'; domain: string }
  /** SPF fail, with spf_reject on; `identity` is the checked sender or HELO name. */
  | { kind: 'spf'; identity: string }
  /** A lookup failed where the verdict could have been a refusal: try again later. */
  | { kind: 'dns' };

export interface AuthVerdict {
  /** CRLF-terminated header lines for the top of the message (Authentication-Results, Received-SPF). */
  headers: string;
  refusal: AuthRefusal | null;
  /** Short results for the log. */
  summary: { spf: string; dkim: string; dmarc: string; arc: string };
}

export interface AuthContext {
  ip: string;
  /** The HELO/EHLO name. */
  helo: string;
  /** MAIL FROM ('' for the null sender). */
  sender: string;
}

/** SPF, DKIM, DMARC and ARC for incoming mail (mail-auth.ts). */
export interface SenderAuthenticator {
  check(message: Buffer | NodeJS.ReadableStream, ctx: AuthContext): Promise<AuthVerdict>;
}
