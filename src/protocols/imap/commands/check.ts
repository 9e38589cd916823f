import { SELECTED, type CommandSpec } from '../command.js';
import { ok } from '../replies.js';

/** RFC 3501 6.4.1 (gone in IMAP4rev2, kept for IMAP4rev1 clients): a NOOP in the selected state. */
export const check: CommandSpec<'CHECK'> = {
  names: ['CHECK'],
  states: SELECTED,
  async run() {
    return ok('Check completed.');
  },
};
