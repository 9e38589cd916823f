import { SELECTED, type CommandSpec } from '../command.js';
import { namedSeqs } from '../messages.js';
import { ok } from '../replies.js';

/**
 * RFC 9051 6.4.3 EXPUNGE and UID EXPUNGE (RFC 4315 2.1: only the named messages that have
 * \Deleted). The EXPUNGE responses come from the dispatcher's report after the command.
 */
export const expunge: CommandSpec<'EXPUNGE' | 'UID EXPUNGE'> = {
  names: ['EXPUNGE', 'UID EXPUNGE'],
  states: SELECTED,
  async run({ session }, cmd) {
    const s = session.selected!;
    // EXAMINE: nothing is expunged; Dovecot answers OK all the same.
    if (s.readOnly) return ok('Expunge completed.');
    if (cmd.name === 'EXPUNGE') {
      await s.folder.expunge();
      return ok('Expunge completed.');
    }
    const seqs = namedSeqs(s.folder, cmd.set, true);
    const uids = seqs.map((q) => s.folder.uidAt(q)).filter((u) => s.folder.meta(u)?.flags.includes('\\Deleted'));
    if (uids.length) await s.folder.expunge(uids);
    return ok('Expunge completed.');
  },
};
