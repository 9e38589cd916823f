import { AUTHENTICATED, type CommandSpec } from '../command.js';
import { ok } from '../replies.js';

/** RFC 9051 6.3.7 / 6.3.8: subscriptions are names; one need not exist (RFC 9051 6.3.7). */
export const subscribe: CommandSpec<'SUBSCRIBE' | 'UNSUBSCRIBE'> = {
  names: ['SUBSCRIBE', 'UNSUBSCRIBE'],
  states: AUTHENTICATED,
  async run({ session }, cmd) {
    const on = cmd.name === 'SUBSCRIBE';
    await session.mailbox!.subscribe(cmd.mailbox, on);
    return ok(`${on ? 'Subscribe' : 'Unsubscribe'} completed.`);
  },
};
