import { SELECTED, type CommandSpec } from '../command.js';
import { bad, no, ok } from '../replies.js';
import { searchFolder, searchKeyValid } from '../search/evaluate.js';
import { searchCharsetSupported, searchKeyToUtf8 } from '../search/charset.js';
import { highestModseq, searchUsesModseq } from '../search/modseq.js';
import { formatSet } from '../uid-set.js';

/**
 * RFC 9051 6.4.4 SEARCH / UID SEARCH: `* SEARCH` for IMAP4rev1, `* ESEARCH` once IMAP4rev2 is
 * enabled or RETURN was given (RFC 9051 7.3.4, RFC 4731). With MODSEQ in the criteria the
 * highest mod-sequence of the matches is given (RFC 7162 3.1.5).
 */
export const search: CommandSpec<'SEARCH'> = {
  names: ['SEARCH'],
  states: SELECTED,
  reportsChanges: (cmd) => cmd.uid,
  async run({ session, tag }, cmd) {
    // RFC 9051 6.4.4: a charset we cannot decode is NO [BADCHARSET]; strings not in it are BAD.
    if (cmd.charset && !searchCharsetSupported(cmd.charset)) return no('Unsupported charset', 'BADCHARSET (UTF-8)');
    let criteria = cmd.criteria;
    try {
      if (cmd.charset) criteria = searchKeyToUtf8(criteria, cmd.charset);
    } catch {
      return bad('Error in IMAP command SEARCH: Invalid search string');
    }
    if (!searchKeyValid(criteria)) return bad('Error in IMAP command SEARCH: Invalid search string (not UTF-8)');
    const f = session.selected!.folder;
    const modseq = searchUsesModseq(criteria);
    if (modseq) session.condstore = true;
    const seqs = await searchFolder(f, criteria);
    const nums = cmd.uid ? seqs.map((q) => f.uidAt(q)) : seqs;
    const highest = modseq ? highestModseq(f, seqs) : 0n;
    if (session.rev2 || cmd.returns) {
      const want = cmd.returns && cmd.returns.length ? cmd.returns : ['ALL'];
      const parts = [`(TAG "${tag}")`];
      if (cmd.uid) parts.push('UID');
      if (nums.length) {
        if (want.includes('MIN')) parts.push(`MIN ${nums[0]}`);
        if (want.includes('MAX')) parts.push(`MAX ${nums[nums.length - 1]}`);
        if (want.includes('ALL')) parts.push(`ALL ${formatSet(nums)}`);
      }
      if (want.includes('COUNT')) parts.push(`COUNT ${nums.length}`);
      if (modseq && nums.length) parts.push(`MODSEQ ${highest}`);
      session.untagged(`ESEARCH ${parts.join(' ')}`);
    } else {
      session.untagged(`SEARCH${nums.length ? ` ${nums.join(' ')}` : ''}${modseq && nums.length ? ` (MODSEQ ${highest})` : ''}`);
    }
    return ok('Search completed.');
  },
};
