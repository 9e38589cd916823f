/**
 * The one place where SMTP/LMTP replies come from backend outcomes (design principle 4).
 * Internal detail goes to the log, never to the client.
 */
import type { RecipientStatus } from '../../delivery/types.js';

export interface SmtpReply {
  code: number;
  /** Text after the code, starting with the enhanced status code (RFC 3463). */
  text: string;
}

/** An Error smtp-server turns into the reply `responseCode text`. */
export function replyError(reply: SmtpReply): Error & { responseCode: number } {
  return Object.assign(new Error(reply.text), { responseCode: reply.code });
}

export const TEMP_FAILURE: SmtpReply = { code: 451, text: '4.3.0 Temporary failure, please try again later' };
export const USER_UNKNOWN: SmtpReply = { code: 550, text: '5.1.1 User unknown in virtual mailbox table' };
export const OVER_QUOTA: SmtpReply = { code: 552, text: '5.2.2 Mailbox full (quota exceeded)' };
export const TOO_BIG: SmtpReply = { code: 552, text: '5.3.4 Message size exceeds fixed maximum message size' };

/** RCPT-time outcome: null → accepted (250). */
export function rcptReply(status: RecipientStatus | null): SmtpReply | null {
  if (status === null || status.kind === 'delivered') return null;
  if (status.kind === 'unknown' || status.kind === 'relay') return USER_UNKNOWN;
  if (status.kind === 'quota') return OVER_QUOTA;
  return TEMP_FAILURE;
}

/** LMTP's per-recipient reply after DATA (RFC 2033 4.2), as Dovecot words it. */
export function deliveryReply(recipient: string, status: RecipientStatus, sessionId: string): SmtpReply {
  if (status.kind === 'delivered') return { code: 250, text: `2.0.0 <${recipient}> ${sessionId} Saved` };
  return rcptReply(status) ?? TEMP_FAILURE;
}

/**
 * Answers a smtp-server hook from an async check: null accepts, a reply refuses, and anything
 * unexpected becomes 451 4.3.0 rather than a client left waiting.
 */
export function answer(check: Promise<SmtpReply | null>, cb: (err?: Error | null) => void): void {
  check.then((reply) => cb(reply ? replyError(reply) : null), () => cb(replyError(TEMP_FAILURE)));
}

/** The same for the end of DATA: 250 carries its text, anything else is an error reply. */
export function answerData(result: Promise<SmtpReply>, cb: (err: Error | null, message?: string) => void): void {
  result.then((reply) => cb(reply.code === 250 ? null : replyError(reply), reply.text), () => cb(replyError(TEMP_FAILURE)));
}
