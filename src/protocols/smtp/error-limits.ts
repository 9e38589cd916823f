/**
 * Postfix smtpd's per-session error count (TUNING_README, "Slowing down SMTP clients that make
 * many errors"): every error reply (4xx/5xx: unknown user, bad syntax, unknown command, a
 * refused AUTH, ...) counts; once `soft` errors were made, every further command is answered only
 * after `sleepMs` (smtpd_soft_error_limit 10, smtpd_error_sleep_time 1s: Postfix 2.1+ sleeps
 * before every reply then); when `hard` errors were made the client gets
 * `421 4.7.0 <hostname> Error: too many errors` at once and is disconnected
 * (smtpd_hard_error_limit 20). The count is per session and starts again when a message has
 * been transferred successfully, as Postfix's does.
 *
 * Recipients over smtpd_recipient_limit (`452 4.5.3`) are not errors until the client goes
 * `RCPT_OVERSHOOT` past it (smtpd_recipient_overshoot_limit), so that a client that simply sends
 * too many recipients is not cut off.
 */
import type { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

export interface ErrorLimits {
  /** smtpd_soft_error_limit: errors after which every reply is delayed by `sleepMs`. */
  soft: number;
  /** smtpd_hard_error_limit: errors after which the client is disconnected with 421. */
  hard: number;
  /** smtpd_error_sleep_time, in ms. */
  sleepMs: number;
}

/** smtpd_recipient_overshoot_limit's default. */
const RCPT_OVERSHOOT = 1000;
/** smtp-server's reply (and ours) to a recipient over the limit, reworded or not. */
const TOO_MANY_RECIPIENTS = /Error: too many recipients$/;

/**
 * Counts the error replies of one connection and applies the limits, by wrapping the
 * connection's `send` (as the adapter has it) and its command handler.
 */
export function limitErrors(connection: SMTPConnection, limits: ErrorLimits): void {
  let errors = 0;
  let overshoot = 0;
  const send = connection.send.bind(connection);
  connection.send = (code, data, context) => {
    // This count replaces smtp-server's own count of unknown commands (it hangs up after ten).
    connection._unrecognizedCommands = 0;
    const counted = code >= 400 && code !== 421
      && !(code === 452 && typeof data === 'string' && TOO_MANY_RECIPIENTS.test(data) && overshoot++ < RCPT_OVERSHOOT);
    if (counted) errors++;
    // A message was transferred: the client is not a run-away one (Postfix resets the count).
    else if (code === 250 && context === 'DATA_OK') errors = 0;
    send(code, data, context);
    if (counted && errors >= limits.hard && !connection._closing) send(421, `4.7.0 ${connection.name} Error: too many errors`, false);
  };
  const onCommand = connection._onCommand.bind(connection);
  connection._onCommand = (line, next) => {
    if (errors < limits.soft || limits.sleepMs <= 0) return onCommand(line, next);
    // Sleeping before the command is taken up delays its reply, and nothing else of this
    // session runs meanwhile (the next command waits for this one), as in Postfix's smtpd.
    const timer = setTimeout(() => {
      if (connection._closing || connection._closed) return next?.();
      onCommand(line, next);
    }, limits.sleepMs);
    timer.unref();
  };
}
