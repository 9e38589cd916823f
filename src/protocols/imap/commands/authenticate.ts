import { NOT_AUTHENTICATED, type CommandSpec } from '../command.js';
import { loginAllowed } from '../capabilities.js';
import { attemptLogin } from '../login-attempt.js';
import { bad, no } from '../replies.js';
import { SaslExchange, isSaslMechanism } from '../../sasl/exchange.js';

/**
 * RFC 9051 6.2.2 with SASL-IR (RFC 4959): the exchange is the one submission uses; challenges
 * go as `+ base64`, the client answers a line each, `*` cancels (BAD, as Dovecot).
 */
export const authenticate: CommandSpec<'AUTHENTICATE'> = {
  names: ['AUTHENTICATE'],
  states: NOT_AUTHENTICATED,
  async run(ctx, cmd) {
    const { session } = ctx;
    const mechanism = cmd.mechanism.toUpperCase();
    if (!loginAllowed(session.capabilityContext())) return no('Plaintext authentication disallowed on non-secure (SSL/TLS) connections.', 'PRIVACYREQUIRED');
    if (!isSaslMechanism(mechanism)) return no('Unsupported authentication mechanism.');
    // The parser decoded SASL-IR's base64 (`=` is empty); the shared exchange takes it as sent.
    const ir = cmd.initialResponse;
    const initial = ir === undefined ? undefined : ir.length === 0 ? '=' : ir.toString('base64');
    const started = SaslExchange.start(mechanism, initial);
    const exchange = started.exchange;
    let step = started.step;
    while (step.kind === 'challenge') {
      session.out.write(`+ ${step.data.toString('base64')}\r\n`);
      const line = await session.conn.nextLine();
      if (line === null) return bad('Connection closed.');
      step = exchange.respond(line.toString('latin1'));
    }
    if (step.outcome.kind === 'aborted') return bad('Authentication aborted by client.');
    return attemptLogin(ctx, step.outcome);
  },
};
