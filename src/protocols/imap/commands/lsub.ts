import { AUTHENTICATED, type CommandSpec } from '../command.js';
import { listMatcher } from '../list-pattern.js';
import { ok } from '../replies.js';
import { wireMailboxName } from '../wire-name.js';

/** RFC 3501 6.3.9 (IMAP4rev1 only; RFC 9051 replaced it with LIST (SUBSCRIBED)). */
export const lsub: CommandSpec<'LSUB'> = {
  names: ['LSUB'],
  states: AUTHENTICATED,
  async run({ session }, cmd) {
    if (cmd.pattern === '') {
      session.untagged('LSUB (\\Noselect) "." ""');
      return ok('Lsub completed.');
    }
    const match = listMatcher(cmd.reference, cmd.pattern);
    for (const f of await session.mailbox!.list()) {
      if (!f.subscribed || !match(f.name)) continue;
      const attrs = f.attributes.filter((a) => a === '\\Noselect');
      session.untaggedParts(`LSUB (${attrs.join(' ')}) "." `, wireMailboxName(f.name, session.utf8));
    }
    return ok('Lsub completed.');
  },
};
