/**
 * The end of LOGIN and AUTHENTICATE: the attempt goes through the shared login session (bans,
 * failure counts and delays common to submission, IMAP and POP3), then the user's mailbox opens.
 * Replies as Dovecot words them (RFC 5530 codes).
 */
import type { CommandContext } from './command.js';
import type { LoginAttempt } from '../sasl/login-service.js';
import { errorReply, no, ok, type Reply } from './replies.js';

export async function attemptLogin(ctx: CommandContext, attempt: LoginAttempt): Promise<Reply> {
  const { session, log } = ctx;
  const login = session.loginSession;
  if (!login) return no('Temporary authentication failure.', 'UNAVAILABLE');
  const name = attempt.kind === 'credentials' ? attempt.credentials.username : attempt.username;
  const result = await login.attempt(attempt);
  switch (result.kind) {
    case 'ok': {
      let mailbox;
      try {
        mailbox = await ctx.services.openMailbox(result.user);
      } catch (err) {
        return errorReply(err, log);
      }
      session.loggedIn(result.user, mailbox);
      log.info({ user: result.user.user, mechanism: attempt.kind === 'credentials' ? attempt.credentials.mechanism : undefined }, 'imap login');
      // RFC 9051 6.2.2: the capabilities change at login; saying them here saves a round trip.
      return ok('Logged in', `CAPABILITY ${session.capabilities().join(' ')}`);
    }
    case 'failed':
      log.warn({ user: name, reason: result.reason }, 'imap login failed');
      if (result.disconnect) session.closeAfterReply = 'Disconnected for too many invalid commands';
      return no('Authentication failed.', 'AUTHENTICATIONFAILED');
    case 'temp':
      log.warn({ user: name }, 'imap login: directory unavailable');
      return no('Temporary authentication failure.', 'UNAVAILABLE');
    case 'banned':
      log.info({ user: name }, 'refused: banned after failed logins');
      session.closeAfterReply = 'Disconnected: too many failed logins';
      return no('Authentication failed.', 'AUTHENTICATIONFAILED');
  }
}
