import { NOT_AUTHENTICATED, type CommandSpec } from '../command.js';
import { bad, ok } from '../replies.js';

/**
 * RFC 9051 6.2.1: the tagged OK, then the handshake (the server does it after writing this
 * reply, and drops whatever the client sent after the command: RFC 9051 11.1, no plaintext
 * command injection into the TLS session).
 */
export const starttls: CommandSpec<'STARTTLS'> = {
  names: ['STARTTLS'],
  states: NOT_AUTHENTICATED,
  async run({ session }) {
    if (session.secure) return bad('TLS is already active.');
    if (!session.conn.canStartTls) return bad('TLS support isn\'t enabled.');
    return ok('Begin TLS negotiation now.');
  },
};
