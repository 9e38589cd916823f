import { AUTHENTICATED, type CommandSpec } from '../command.js';
import { ok } from '../replies.js';

/** RFC 2342 / RFC 9051 6.3.10: one personal namespace, no prefix, `.` as separator (Dovecot's Maildir++). */
export const namespace: CommandSpec<'NAMESPACE'> = {
  names: ['NAMESPACE'],
  states: AUTHENTICATED,
  async run({ session }) {
    session.untagged('NAMESPACE (("" ".")) NIL NIL');
    return ok('Namespace completed.');
  },
};
