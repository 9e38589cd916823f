import { AUTHENTICATED, type CommandSpec } from '../command.js';
import { idle as runIdle } from '../idle.js';
import { isIdleDone } from '../parser.js';
import { bad, ok } from '../replies.js';

/** RFC 9051 6.3.13 */
export const idle: CommandSpec<'IDLE'> = {
  names: ['IDLE'],
  states: AUTHENTICATED,
  // Not async: one suspended frame less for each of thousands of idling sessions.
  run({ session }) {
    session.out.write('+ idling\r\n');
    return runIdle(session).then((line) => {
      if (line === null) return bad('Connection closed.');
      if (!isIdleDone(line)) return bad('Expected DONE.');
      return ok('Idle completed.');
    });
  },
};
