import { AUTHENTICATED, type CommandSpec } from '../command.js';
import { ok } from '../replies.js';
import { wireMailboxName } from '../wire-name.js';
import type { FolderStatus } from '../../../mailstore/types.js';
import type { StatusItem } from '../types.js';

const VALUE: Record<StatusItem, (s: FolderStatus) => number | bigint> = {
  MESSAGES: (s) => s.messages,
  RECENT: (s) => s.recent,
  UIDNEXT: (s) => s.uidNext,
  UIDVALIDITY: (s) => s.uidValidity,
  UNSEEN: (s) => s.unseen,
  HIGHESTMODSEQ: (s) => s.highestModseq,
  SIZE: (s) => s.size,
  DELETED: () => 0,
};

/** RFC 9051 6.3.11 (SIZE: RFC 8438). The selected mailbox too, as its latest state. */
export const status: CommandSpec<'STATUS'> = {
  names: ['STATUS'],
  states: AUTHENTICATED,
  async run({ session }, cmd) {
    const s = await session.mailbox!.status(cmd.mailbox);
    if (cmd.items.includes('HIGHESTMODSEQ')) session.condstore = true;
    const items = cmd.items.filter((i) => i !== 'DELETED').map((i) => `${i} ${VALUE[i](s)}`);
    session.untaggedParts('STATUS ', wireMailboxName(cmd.mailbox, session.utf8), ` (${items.join(' ')})`);
    return ok('Status completed.');
  },
};
