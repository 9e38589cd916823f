import { ANY, type CommandSpec } from '../command.js';
import { ok } from '../replies.js';

/** RFC 9051 6.1.2: does nothing; the dispatcher reports what changed in the selected mailbox. */
export const noop: CommandSpec<'NOOP'> = {
  names: ['NOOP'],
  states: ANY,
  async run() {
    return ok('NOOP completed.');
  },
};
