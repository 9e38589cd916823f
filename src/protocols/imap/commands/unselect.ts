import { SELECTED, type CommandSpec } from '../command.js';
import { ok } from '../replies.js';

/** RFC 3691 / RFC 9051 6.4.2: deselects without expunging. */
export const unselect: CommandSpec<'UNSELECT'> = {
  names: ['UNSELECT'],
  states: SELECTED,
  reportsChanges: () => false,
  async run({ session }) {
    await session.deselect();
    return ok('Unselect completed.');
  },
};
