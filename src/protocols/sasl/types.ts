/**
 * What a SASL exchange (plain.ts, login.ts) yields: the protocol-neutral input of the login
 * service, the same for SMTP AUTH, IMAP AUTHENTICATE/LOGIN and POP3 AUTH/USER+PASS.
 */

/** Decoded credentials. The password stays bytes: it is hashed as sent, never re-encoded. */
export interface SaslCredentials {
  /** For the log: PLAIN, LOGIN, or the protocol's own plaintext login (IMAP LOGIN, POP3 USER/PASS). */
  mechanism: string;
  /** RFC 4616 authorization identity (`''` when none was given). */
  authzid: string;
  /** The authentication identity, exactly as sent (valid UTF-8, nothing trimmed). */
  username: string;
  password: Buffer;
}

export type SaslOutcome =
  | { kind: 'credentials'; credentials: SaslCredentials }
  /**
   * The client's data cannot be a login (bad base64, missing fields, an unusable user name, an
   * authzid of someone else). A failed login like any other: counted, delayed, 535.
   * `username` when one could be read, for the per-account count and the log.
   */
  | { kind: 'refused'; reason: string; username?: string }
  /** The client sent `*` (RFC 4954 4, RFC 3501 6.2.2): not a login attempt. */
  | { kind: 'aborted' };

/** One step of an exchange: another challenge for the client, or the outcome. */
export type SaslStep = { kind: 'challenge'; data: Buffer } | { kind: 'done'; outcome: SaslOutcome };
