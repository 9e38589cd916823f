import { AUTHENTICATED, type CommandSpec } from '../command.js';
import { errorReply, ok } from '../replies.js';
import { SelectedMailbox } from '../selected.js';

/** Dovecot's order. */
const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];

/**
 * RFC 9051 6.3.2 SELECT / 6.3.3 EXAMINE, the untagged responses in Dovecot's order. A mailbox
 * already selected is closed first without expunging (RFC 9051 6.3.2), with `[CLOSED]` to a
 * client that can use it (RFC 7162 3.2.11). PERMANENTFLAGS has `\*`: any keyword can be made.
 */
export const select: CommandSpec<'SELECT' | 'EXAMINE'> = {
  names: ['SELECT', 'EXAMINE'],
  states: AUTHENTICATED,
  reportsChanges: () => false,
  async run({ session, log }, cmd) {
    if (session.selected) {
      await session.deselect();
      if (session.condstore || session.rev2) session.untagged('OK [CLOSED] Previous mailbox closed.');
    }
    if (cmd.condstore) session.condstore = true;
    const readOnly = cmd.name === 'EXAMINE';
    let folder;
    try {
      folder = await session.mailbox!.open(cmd.mailbox);
    } catch (err) {
      return errorReply(err, log, cmd.mailbox);
    }
    // Selected at once: whatever happens next, the folder is closed with the session.
    session.selected = new SelectedMailbox(folder, cmd.mailbox, readOnly);
    session.state = 'selected';
    const status = folder.status();
    const wantUnseen = !session.rev2 && status.unseen > 0;
    const count = folder.count();
    let keywords: Set<string>;
    let firstUnseen = 0;
    if (folder.keywordsInUse && folder.firstUnseen) {
      // From the store's columns: no object per message (a 100,000-message SELECT).
      keywords = new Set(folder.keywordsInUse());
      if (wantUnseen) firstUnseen = folder.firstUnseen();
    } else {
      keywords = new Set<string>();
      let look = wantUnseen;
      for (let seq = 1; seq <= count; seq++) {
        const m = folder.meta(folder.uidAt(seq));
        if (!m) continue;
        for (const f of m.flags) if (!f.startsWith('\\')) keywords.add(f);
        if (look && !m.flags.includes('\\Seen')) {
          firstUnseen = seq;
          look = false;
        }
      }
    }
    const flags = [...SYSTEM_FLAGS, ...[...keywords].sort()].join(' ');
    session.untagged(`FLAGS (${flags})`);
    session.untagged(`OK [PERMANENTFLAGS ${readOnly ? '()' : `(${flags} \\*)`}] ${readOnly ? 'Read-only mailbox.' : 'Flags permitted.'}`);
    session.untagged(`${count} EXISTS`);
    if (!session.rev2) {
      session.untagged(`${status.recent} RECENT`);
      if (firstUnseen) session.untagged(`OK [UNSEEN ${firstUnseen}] First unseen.`);
    }
    session.untagged(`OK [UIDVALIDITY ${status.uidValidity}] UIDs valid`);
    session.untagged(`OK [UIDNEXT ${status.uidNext}] Predicted next UID`);
    session.untagged(`OK [HIGHESTMODSEQ ${status.highestModseq}] Highest`);
    return ok(`${cmd.name === 'SELECT' ? 'Select' : 'Examine'} completed.`, readOnly ? 'READ-ONLY' : 'READ-WRITE');
  },
};
