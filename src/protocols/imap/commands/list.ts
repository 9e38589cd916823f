import { AUTHENTICATED, type CommandSpec } from '../command.js';
import { listMatcher } from '../list-pattern.js';
import { ok } from '../replies.js';
import { wireMailboxName } from '../wire-name.js';

const SPECIAL_USE = new Set(['\\All', '\\Archive', '\\Drafts', '\\Flagged', '\\Junk', '\\Sent', '\\Trash']);

/**
 * RFC 9051 6.3.9 with LIST-EXTENDED selection (SUBSCRIBED, SPECIAL-USE) and return options
 * (SUBSCRIBED, CHILDREN, SPECIAL-USE; RFC 5258, RFC 6154). `LIST "" ""` asks for the separator.
 */
export const list: CommandSpec<'LIST'> = {
  names: ['LIST'],
  states: AUTHENTICATED,
  async run({ session }, cmd) {
    if (cmd.patterns.length === 1 && cmd.patterns[0] === '') {
      session.untagged('LIST (\\Noselect) "." ""');
      return ok('List completed.');
    }
    const selectSubscribed = cmd.options.select.includes('SUBSCRIBED');
    const selectSpecial = cmd.options.select.includes('SPECIAL-USE');
    const returnSubscribed = selectSubscribed || cmd.options.return.includes('SUBSCRIBED');
    const matchers = cmd.patterns.map((p) => listMatcher(cmd.reference, p));
    for (const f of await session.mailbox!.list()) {
      if (!matchers.some((m) => m(f.name))) continue;
      if (selectSubscribed && !f.subscribed) continue;
      if (selectSpecial && !f.attributes.some((a) => SPECIAL_USE.has(a))) continue;
      const attrs = [...f.attributes];
      if (returnSubscribed && f.subscribed) attrs.push('\\Subscribed');
      session.untaggedParts(`LIST (${attrs.join(' ')}) "." `, wireMailboxName(f.name, session.utf8));
    }
    return ok('List completed.');
  },
};
