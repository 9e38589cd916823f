import { NotFound } from '../../../core/errors.js';
import { SELECTED, type CommandSpec } from '../command.js';
import { namedSeqs } from '../messages.js';
import { no, ok } from '../replies.js';
import { formatSet } from '../uid-set.js';

/**
 * RFC 9051 6.4.7 COPY / 6.4.8 MOVE (RFC 6851) with COPYUID (RFC 4315 3). MOVE tells COPYUID in
 * an untagged OK before its EXPUNGE responses (RFC 6851 4.3), which the dispatcher's report
 * sends. A target that does not exist: `NO [TRYCREATE]`.
 */
export const copy: CommandSpec<'COPY' | 'MOVE'> = {
  names: ['COPY', 'MOVE'],
  states: SELECTED,
  async run({ session }, cmd) {
    const s = session.selected!;
    const f = s.folder;
    if (cmd.name === 'MOVE' && s.readOnly) return no('Mailbox is read-only.');
    const seqs = namedSeqs(f, cmd.set, cmd.uid);
    const verb = cmd.name === 'COPY' ? 'Copy' : 'Move';
    if (seqs.length === 0) return ok(`No messages found.`);
    const uids = seqs.map((q) => f.uidAt(q));
    let result;
    try {
      result = cmd.name === 'COPY' ? await f.copyTo(uids, cmd.mailbox) : await f.moveTo(uids, cmd.mailbox);
    } catch (err) {
      if (err instanceof NotFound) return no(`Mailbox doesn't exist: ${cmd.mailbox}`, 'TRYCREATE');
      throw err;
    }
    const src = [...result.map.keys()].sort((a, b) => a - b);
    const code = src.length ? `COPYUID ${result.uidValidity} ${formatSet(src)} ${formatSet(src.map((u) => result.map.get(u)!))}` : undefined;
    if (cmd.name === 'MOVE') {
      if (code) session.untagged(`OK [${code}] Moved UIDs.`);
      return ok('Move completed.');
    }
    return ok(`${verb} completed.`, code);
  },
};
