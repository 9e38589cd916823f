import { AUTHENTICATED, type CommandSpec } from '../command.js';
import { no, ok } from '../replies.js';

/** RFC 9051 6.3.5. INBOX cannot go; a parent with children stays as `\Noselect` (the store decides). */
export const del: CommandSpec<'DELETE'> = {
  names: ['DELETE'],
  states: AUTHENTICATED,
  async run({ session }, cmd) {
    if (cmd.mailbox.toUpperCase() === 'INBOX') return no('INBOX can\'t be deleted.', 'CANNOT');
    // Deleting the selected mailbox: the session leaves it first (Dovecot does the same).
    if (session.selected?.name === cmd.mailbox) await session.deselect();
    await session.mailbox!.delete(cmd.mailbox);
    return ok('Delete completed.');
  },
};
