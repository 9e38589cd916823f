import { ANY, type CommandSpec } from '../command.js';
import { ok } from '../replies.js';

/** RFC 9051 6.1.3: BYE, then the tagged OK; the server closes the connection after it. */
export const logout: CommandSpec<'LOGOUT'> = {
  names: ['LOGOUT'],
  states: ANY,
  reportsChanges: () => false,
  async run({ session }) {
    session.untagged('BYE Logging out');
    await session.end();
    return ok('Logout completed.');
  },
};
