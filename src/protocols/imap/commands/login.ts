import { NOT_AUTHENTICATED, type CommandSpec } from '../command.js';
import { loginAllowed } from '../capabilities.js';
import { attemptLogin } from '../login-attempt.js';
import { no } from '../replies.js';
import { parseUsername } from '../../sasl/username.js';

/**
 * RFC 9051 6.2.3. Refused in clear text unless configured (LOGINDISABLED, RFC 9051 7.2.2), as
 * Dovecot's disable_plaintext_auth: `NO [PRIVACYREQUIRED]` (RFC 5530 3).
 */
export const login: CommandSpec<'LOGIN'> = {
  names: ['LOGIN'],
  states: NOT_AUTHENTICATED,
  async run(ctx, cmd) {
    if (!loginAllowed(ctx.session.capabilityContext())) return no('Plaintext authentication disallowed on non-secure (SSL/TLS) connections.', 'PRIVACYREQUIRED');
    const user = parseUsername(cmd.user);
    if (!user.ok) return attemptLogin(ctx, { kind: 'refused', reason: user.reason, ...(user.name ? { username: user.name } : {}) });
    return attemptLogin(ctx, { kind: 'credentials', credentials: { mechanism: 'LOGIN', authzid: '', username: user.name, password: cmd.password } });
  },
};
