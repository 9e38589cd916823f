/**
 * Backend errors say what happened, never which reply code to send: each protocol maps them in
 * its own replies.ts (design principle 4). `detail` is for the log only and never reaches a client.
 */
export class MailError extends Error {
  constructor(message: string, readonly detail?: unknown) {
    super(message);
    this.name = new.target.name;
  }
}

/** A backend (MySQL, disk, DNS) failed in a way that may succeed later: 4xx / NO [UNAVAILABLE]. */
export class TempFailure extends MailError {}

/** The thing asked for does not exist (user, domain, folder, message). */
export class NotFound extends MailError {}

/** Credentials were wrong, or the account may not log in. */
export class AuthFailure extends MailError {}

/** Storing would exceed the user's quota. */
export class QuotaExceeded extends MailError {}

/** Policy forbids the operation (relay, sender mismatch, rate limit, ...). */
export class PolicyReject extends MailError {}

/** Input that can never be valid (bad address, path tricks, malformed syntax). */
export class InvalidInput extends MailError {}

/** The configuration is wrong; the message names the key. */
export class ConfigError extends MailError {}

/** An operation the current backend cannot do (e.g. writing through custom MySQL queries). */
export class Unsupported extends MailError {}
