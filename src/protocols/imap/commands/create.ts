import { AUTHENTICATED, type CommandSpec } from '../command.js';
import { no, ok } from '../replies.js';

/**
 * RFC 9051 6.3.4. A trailing separator only says children will follow (`Work.` creates `Work`);
 * wildcards are refused (they could never be listed apart); INBOX always exists.
 */
export const create: CommandSpec<'CREATE'> = {
  names: ['CREATE'],
  states: AUTHENTICATED,
  async run({ session }, cmd) {
    const name = cmd.mailbox.endsWith('.') ? cmd.mailbox.slice(0, -1) : cmd.mailbox;
    if (name.toUpperCase() === 'INBOX') return no('Mailbox already exists', 'ALREADYEXISTS');
    if (name === '' || /[%*]/.test(name)) return no('Invalid mailbox name', 'CANNOT');
    const existing = await session.mailbox!.list();
    if (existing.some((f) => f.name === name && !f.attributes.includes('\\Noselect'))) return no('Mailbox already exists', 'ALREADYEXISTS');
    await session.mailbox!.create(name);
    return ok('Create completed.');
  },
};
