import { AUTHENTICATED, type CommandSpec } from '../command.js';
import { no, ok } from '../replies.js';

/** RFC 9051 6.3.6 (RENAME INBOX moves its messages and leaves INBOX empty: the store's job). */
export const rename: CommandSpec<'RENAME'> = {
  names: ['RENAME'],
  states: AUTHENTICATED,
  async run({ session }, cmd) {
    const to = cmd.to.endsWith('.') ? cmd.to.slice(0, -1) : cmd.to;
    if (to === '' || /[%*]/.test(to)) return no('Invalid mailbox name', 'CANNOT');
    if (to.toUpperCase() === 'INBOX') return no('Mailbox already exists', 'ALREADYEXISTS');
    if (to.startsWith(`${cmd.from}.`)) return no('Can\'t rename mailbox under its own child', 'CANNOT');
    const existing = await session.mailbox!.list();
    if (!existing.some((f) => f.name === cmd.from)) return no(`Mailbox doesn't exist: ${cmd.from}`, 'NONEXISTENT');
    if (existing.some((f) => f.name === to)) return no('Mailbox already exists', 'ALREADYEXISTS');
    if (session.selected?.name === cmd.from) await session.deselect();
    await session.mailbox!.rename(cmd.from, to);
    return ok('Rename completed.');
  },
};
