/**
 * The one place where SMTP/LMTP replies come from (design principle 4): the outcomes of
 * delivery, routing and the security checks, the refusals of the listeners' own restrictions,
 * and typed backend errors. Texts follow Postfix 3.7 (checked against the real one) and Dovecot
 * LMTP. Internal detail goes to the log, never to the client.
 */
import { AuthFailure, InvalidInput, QuotaExceeded } from '../../core/errors.js';
import type { CommitOutcome, RecipientStatus, RouteOutcome } from '../../delivery/types.js';
import type { AuthRefusal } from '../../security/types.js';

export interface SmtpReply {
  code: number;
  /** Text after the code, starting with the enhanced status code (RFC 3463). */
  text: string;
}

/** Why a command is refused, by meaning; `reply()` words it. */
export type Refusal =
  // connection
  | { kind: 'banned' }
  /** postscreen's pregreet test failed (greet_action = enforce): every RCPT is refused. */
  | { kind: 'early-talker' }
  // MAIL / RCPT parameters and rates
  | { kind: 'unsupported-parameter'; parameter: string }
  | { kind: 'message-rate' }
  | { kind: 'recipient-rate' }
  | { kind: 'too-many-recipients' }
  /** A MAIL FROM / RCPT TO address no mailbox can have (a local part over 64 octets, a `/`...). */
  | { kind: 'sender-syntax' }
  | { kind: 'recipient-syntax' }
  // smtpd_helo_restrictions
  | { kind: 'helo-required' }
  | { kind: 'helo-invalid'; helo: string }
  | { kind: 'helo-not-fqdn'; helo: string }
  // smtpd_sender_restrictions
  | { kind: 'sender-not-fqdn'; sender: string }
  | { kind: 'sender-tld'; sender: string }
  | { kind: 'sender-domain-unknown'; sender: string }
  | { kind: 'sender-domain-null-mx'; sender: string; domain: string }
  | { kind: 'sender-domain-dns'; sender: string }
  | { kind: 'sender-not-owned'; address: string; user: string }
  /** A From/Sender header field without an address that can be checked (submission). */
  | { kind: 'sender-header-unparsable'; field: string }
  // smtpd_client / recipient restrictions
  | { kind: 'blocklisted'; ip: string; zone: string }
  | { kind: 'recipient-not-fqdn'; address: string }
  // DATA
  | { kind: 'too-big' }
  | { kind: 'sender-auth'; refusal: AuthRefusal }
  /** Postfix hopcount_limit: the message has looped. */
  | { kind: 'too-many-hops' }
  // AUTH (RFC 4954; Postfix smtpd_sasl_proto.c wording)
  | { kind: 'auth-failed' }
  | { kind: 'auth-temp' }
  | { kind: 'auth-syntax' }
  | { kind: 'auth-mechanism' }
  | { kind: 'auth-aborted' }
  | { kind: 'auth-tls-required' }
  | { kind: 'auth-already' }
  | { kind: 'auth-in-transaction' }
  /** smtpd_hard_error_limit / Dovecot's per-connection failure limit: the connection closes. */
  | { kind: 'too-many-errors'; hostname: string }
  // outcomes of routing and delivery
  | Exclude<RouteOutcome, { kind: 'local' } | { kind: 'remote' }>
  | Exclude<CommitOutcome, { kind: 'stored' }>;

export const TEMP_FAILURE: SmtpReply = { code: 451, text: '4.3.0 Temporary failure, please try again later' };

/** The reply for a refusal. */
export function reply(r: Refusal): SmtpReply {
  switch (r.kind) {
    case 'banned': return { code: 421, text: '4.7.0 Too many failed logins from your address, try again later' };
    case 'early-talker': return { code: 550, text: '5.5.1 Protocol error' };
    case 'unsupported-parameter': return { code: 555, text: `5.5.4 Unsupported option: ${r.parameter}` };
    case 'message-rate': return { code: 450, text: '4.7.1 Error: too much mail from your address' };
    case 'recipient-rate': return { code: 450, text: '4.7.1 Error: too many recipients from your address' };
    case 'too-many-recipients': return { code: 452, text: '4.5.3 Error: too many recipients' };
    case 'sender-syntax': return { code: 501, text: '5.1.7 Bad sender address syntax' };
    case 'recipient-syntax': return { code: 501, text: '5.1.3 Bad recipient address syntax' };
    case 'helo-required': return { code: 503, text: '5.5.1 Error: send HELO/EHLO first' };
    case 'helo-invalid': return { code: 501, text: `5.5.2 <${r.helo}>: Helo command rejected: Invalid name` };
    case 'helo-not-fqdn': return { code: 504, text: `5.5.2 <${r.helo}>: Helo command rejected: need fully-qualified hostname` };
    case 'sender-not-fqdn': return { code: 504, text: `5.5.2 <${r.sender}>: Sender address rejected: need fully-qualified address` };
    case 'sender-tld': return { code: 554, text: `5.7.1 <${r.sender}>: Sender address rejected: Access denied` };
    // seed 001's unknown_address_reject_code; a null MX as Postfix words it
    case 'sender-domain-unknown': return { code: 550, text: `5.1.8 <${r.sender}>: Sender address rejected: Domain not found` };
    case 'sender-domain-null-mx': return { code: 550, text: `5.7.27 <${r.sender}>: Sender address rejected: Domain ${r.domain} does not accept mail (nullMX)` };
    // a DNS failure is never a reason to bounce
    case 'sender-domain-dns': return { code: 450, text: `4.1.8 <${r.sender}>: Sender address rejected: Domain not found (DNS temporary failure)` };
    case 'sender-not-owned': return { code: 553, text: `5.7.1 <${r.address}>: Sender address rejected: not owned by user ${r.user}` };
    // reject_sender_login_mismatch's wording, for a header whose address cannot be checked
    case 'sender-header-unparsable': return { code: 553, text: `5.7.1 Sender address rejected: ${r.field}: header without a valid address` };
    case 'blocklisted': return { code: 554, text: `5.7.1 Service unavailable; Client host [${r.ip}] blocked using ${r.zone}` };
    case 'recipient-not-fqdn': return { code: 504, text: `5.5.2 <${r.address}>: Recipient address rejected: need fully-qualified address` };
    case 'too-big': return { code: 552, text: '5.3.4 Message size exceeds fixed maximum message size' };
    case 'sender-auth': return authReply(r.refusal);
    // Postfix's text for cleanup's CLEANUP_STAT_HOPS; its code is 5.4.0 (cleanup_strerror.c), but
    // RFC 3463 has X.4.6 for exactly this ("routing loop detected"), which tells the sender more.
    case 'too-many-hops': return { code: 554, text: '5.4.6 Error: too many hops' };
    case 'auth-failed': return { code: 535, text: '5.7.8 Error: authentication failed' };
    case 'auth-temp': return { code: 454, text: '4.7.0 Temporary authentication failure' };
    case 'auth-syntax': return { code: 501, text: '5.5.4 Syntax: AUTH mechanism' };
    case 'auth-mechanism': return { code: 504, text: '5.5.4 Unrecognized authentication type' };
    case 'auth-aborted': return { code: 501, text: '5.7.0 Authentication aborted' };
    case 'auth-tls-required': return { code: 538, text: '5.7.11 Encryption required for requested authentication mechanism' };
    case 'auth-already': return { code: 503, text: '5.5.1 Error: already authenticated' };
    case 'auth-in-transaction': return { code: 503, text: '5.5.1 Error: MAIL transaction in progress' };
    case 'too-many-errors': return { code: 421, text: `4.7.0 ${r.hostname} Error: too many errors` };
    case 'relay-denied': return { code: 554, text: '5.7.1 Relay access denied' };
    case 'unknown': return { code: 550, text: '5.1.1 User unknown in virtual mailbox table' };
    case 'quota': return { code: 552, text: '5.2.2 Mailbox full (quota exceeded)' };
    case 'temp': return TEMP_FAILURE;
  }
}

function authReply(r: AuthRefusal): SmtpReply {
  switch (r.kind) {
    case 'dmarc': return { code: 550, text: `5.7.1 Rejected by DMARC policy for ${r.domain}` };
    case 'spf': return { code: 550, text: `5.7.23 Message rejected due to: SPF fail - not authorized (${r.identity})` };
    case 'dns': return { code: 451, text: '4.4.3 Temporary DNS failure while checking the sender, try again later' };
  }
}

/** The reply for an error thrown by a backend or a check: by meaning, never by its text. */
export function errorReply(err: unknown): SmtpReply {
  if (err instanceof QuotaExceeded) return reply({ kind: 'quota', mailbox: '' });
  if (err instanceof AuthFailure) return reply({ kind: 'auth-failed' });
  if (err instanceof InvalidInput) return { code: 501, text: '5.5.4 Syntax error' };
  return TEMP_FAILURE;
}

/** RFC 4954 6: a successful AUTH. */
export const AUTH_OK: SmtpReply = { code: 235, text: '2.7.0 Authentication successful' };

/**
 * `250` after DATA (SMTP); the id, one per message as Postfix's queue id, lets a user's
 * complaint be found in the log.
 */
export function queued(queueId: string): SmtpReply {
  return { code: 250, text: `2.0.0 Ok: queued as ${queueId}` };
}

/** LMTP's per-recipient reply after DATA (RFC 2033 4.2), as Dovecot words it. */
export function deliveryReply(recipient: string, status: RecipientStatus, sessionId: string): SmtpReply {
  if (status.kind === 'delivered') return { code: 250, text: `2.0.0 <${recipient}> ${sessionId} Saved` };
  if (status.kind === 'relay') return reply({ kind: 'unknown' });
  return reply(status);
}

/** An Error smtp-server turns into the reply `code text`. */
export function replyError(r: SmtpReply): Error & { responseCode: number } {
  return Object.assign(new Error(r.text), { responseCode: r.code });
}
