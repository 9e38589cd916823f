/**
 * The AUTH command (RFC 4954), in place of smtp-server's: its SASL code decodes the base64 into
 * UTF-8 strings (a password's non-UTF-8 bytes all become U+FFFD, so different passwords verify
 * alike), falls back to the authzid when the authcid is empty and drops a differing authzid
 * without a word, and trims what the client sent. Here the exchange is the shared one of
 * protocols/sasl (bytes kept, authzid refused, names never trimmed), and the outcome goes to the
 * listener's login (`SmtpLogin`), which counts failures and bans for every protocol alike.
 *
 * Checks and replies in Postfix's order (smtpd_sasl_proto.c): TLS first (smtpd_tls_auth_only),
 * then already authenticated, syntax, a transaction in progress, the mechanism. A reply with code
 * 421 (banned, too many failures) closes the connection.
 */
import type { SMTPServerSession } from 'smtp-server';
import type { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { SaslExchange, isSaslMechanism } from '../sasl/exchange.js';
import type { SaslOutcome, SaslStep } from '../sasl/types.js';
import { AUTH_OK, type Refusal, type SmtpReply, reply } from './replies.js';

/** A finished exchange's outcome → the authenticated user's name, or the reply refusing it. */
export type SmtpLogin = (session: SMTPServerSession, outcome: Exclude<SaslOutcome, { kind: 'aborted' }>) => Promise<string | SmtpReply>;

export interface AuthCommandOptions {
  login: SmtpLogin;
  /** smtpd_tls_auth_only: AUTH only over TLS. */
  requireTls: boolean;
}

/** smtp-server's handler_AUTH replacement for one connection. */
export function authCommand(connection: SMTPConnection, opts: AuthCommandOptions): (command: Buffer, callback: () => void) => void {
  const refuse = (r: Refusal, callback: () => void) => {
    const { code, text } = reply(r);
    connection.send(code, text, false);
    callback();
  };

  const finish = (outcome: SaslOutcome, callback: () => void) => {
    if (outcome.kind === 'aborted') return refuse({ kind: 'auth-aborted' }, callback);
    opts.login(connection.session, outcome).then(
      (result) => {
        if (typeof result === 'string') {
          // What smtp-server's own SASL code records on success.
          connection.session.user = result;
          connection.session.transmissionType = connection._transmissionType();
          connection.send(AUTH_OK.code, AUTH_OK.text, false);
        } else {
          connection.send(result.code, result.text, false); // 421 closes the connection
        }
        callback();
      },
      () => refuse({ kind: 'auth-temp' }, callback),
    );
  };

  const advance = (exchange: SaslExchange, step: SaslStep, callback: () => void) => {
    if (step.kind === 'done') return finish(step.outcome, callback);
    // The client's next line is the response (smtp-server hands it here instead of parsing it).
    connection._nextHandler = (line, next) => advance(exchange, exchange.respond(line.toString('latin1')), next);
    if (step.data.length === 0) connection.send(334, null, false);
    else connection.send(334, step.data.toString('base64'), false);
    callback();
  };

  return (command, callback) => {
    if (opts.requireTls && !connection.secure) return refuse({ kind: 'auth-tls-required' }, callback);
    if (connection.session.user) return refuse({ kind: 'auth-already' }, callback);
    const args = command.toString('latin1').slice(4).trim().split(/\s+/).filter((a) => a !== '');
    if (args.length < 1 || args.length > 2) return refuse({ kind: 'auth-syntax' }, callback);
    if (connection.session.envelope?.mailFrom) return refuse({ kind: 'auth-in-transaction' }, callback);
    const mechanism = args[0]!.toUpperCase();
    if (!isSaslMechanism(mechanism)) return refuse({ kind: 'auth-mechanism' }, callback);
    const { exchange, step } = SaslExchange.start(mechanism, args[1]);
    advance(exchange, step, callback);
  };
}
