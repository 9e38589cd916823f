import { ANY, type CommandSpec } from '../command.js';
import { ok } from '../replies.js';

/** RFC 2971: the client's parameters go to the log; the server names itself. */
export const id: CommandSpec<'ID'> = {
  names: ['ID'],
  states: ANY,
  async run({ session, log }, cmd) {
    if (cmd.params) log.info({ client: Object.fromEntries(cmd.params.slice(0, 30).map(([k, v]) => [k.slice(0, 64), v?.slice(0, 256) ?? null])) }, 'client ID');
    session.untagged('ID ("name" "tsmail")');
    return ok('ID completed.');
  },
};
