import { SELECTED, type CommandSpec } from '../command.js';
import { ok } from '../replies.js';

/** RFC 9051 6.4.1: expunges \Deleted messages without a word (not in EXAMINE), then deselects. */
export const close: CommandSpec<'CLOSE'> = {
  names: ['CLOSE'],
  states: SELECTED,
  reportsChanges: () => false,
  async run({ session }) {
    const s = session.selected!;
    if (!s.readOnly) await s.folder.expunge();
    await session.deselect();
    return ok('Close completed.');
  },
};
