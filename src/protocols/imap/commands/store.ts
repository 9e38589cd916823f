import { SELECTED, type CommandSpec } from '../command.js';
import { namedSeqs } from '../messages.js';
import { ok } from '../replies.js';
import { flagList, flagsWithRecent } from '../selected.js';
import { formatSet } from '../uid-set.js';

/**
 * RFC 9051 6.4.6 STORE / UID STORE with .SILENT, and UNCHANGEDSINCE (RFC 7162 3.1.3): messages
 * changed since are left alone and named in `[MODIFIED ...]`. \Recent cannot be stored. The
 * new flags are answered here, so the report after the command does not repeat them.
 */
export const store: CommandSpec<'STORE'> = {
  names: ['STORE'],
  states: SELECTED,
  reportsChanges: (cmd) => cmd.uid,
  async run({ session }, cmd) {
    const s = session.selected!;
    const f = s.folder;
    // Dovecot's answer: nothing is changed, and it is not an error the client must handle.
    if (s.readOnly) return ok('Store ignored with read-only mailbox.');
    const seqs = namedSeqs(f, cmd.set, cmd.uid);
    if (cmd.unchangedSince !== undefined) session.condstore = true;
    const flags = cmd.flags.filter((x) => x.toLowerCase() !== '\\recent');
    const uids = seqs.map((q) => f.uidAt(q));
    const { changed, failed } = await f.setFlags(uids, cmd.mode, flags, cmd.unchangedSince);
    s.toldFlags(changed);
    const changedUids = new Set(changed.map((m) => m.uid));
    const failedSet = new Set(failed);
    for (const seq of seqs) {
      const uid = f.uidAt(seq);
      if (failedSet.has(uid)) continue;
      const m = f.meta(uid);
      if (!m) continue;
      const modseq = session.condstore ? ` MODSEQ (${m.modseq})` : '';
      if (!cmd.silent) session.untagged(`${seq} FETCH (${cmd.uid ? `UID ${uid} ` : ''}FLAGS ${flagList(flagsWithRecent(f, m, session.rev2))}${modseq})`);
      // RFC 7162 3.1.3: with .SILENT, a CONDSTORE client still hears the new MODSEQ.
      else if (session.condstore && changedUids.has(uid)) session.untagged(`${seq} FETCH (${cmd.uid ? `UID ${uid} ` : ''}MODSEQ (${m.modseq}))`);
    }
    if (failed.length) {
      const named = cmd.uid ? failed : failed.map((u) => f.seqOf(u));
      return ok('Conditional STORE failed', `MODIFIED ${formatSet([...named].sort((a, b) => a - b))}`);
    }
    return ok('Store completed.');
  },
};
