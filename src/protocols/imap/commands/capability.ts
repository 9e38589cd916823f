import { ANY, type CommandSpec } from '../command.js';
import { ok } from '../replies.js';

/** RFC 9051 6.1.1 */
export const capability: CommandSpec<'CAPABILITY'> = {
  names: ['CAPABILITY'],
  states: ANY,
  async run({ session }) {
    session.untagged(`CAPABILITY ${session.capabilities().join(' ')}`);
    return ok('Capability completed.');
  },
};
