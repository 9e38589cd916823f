import { AUTHENTICATED, type CommandSpec } from '../command.js';
import { ENABLEABLE } from '../capabilities.js';
import { ok } from '../replies.js';

const NAMES: Record<(typeof ENABLEABLE)[number], string> = { IMAP4REV2: 'IMAP4rev2', CONDSTORE: 'CONDSTORE' };

/**
 * RFC 5161: turns on what tsmail supports among the names given; the others are ignored, and
 * `* ENABLED` lists only what this command newly enabled (RFC 5161 3.2). UTF8=ACCEPT is not
 * offered yet, so it is never enabled.
 */
export const enable: CommandSpec<'ENABLE'> = {
  names: ['ENABLE'],
  states: AUTHENTICATED,
  async run({ session }, cmd) {
    const turned: string[] = [];
    for (const raw of cmd.capabilities) {
      const name = raw.toUpperCase() as (typeof ENABLEABLE)[number];
      if (!(ENABLEABLE as readonly string[]).includes(name) || session.enabled.has(name)) continue;
      session.enabled.add(name);
      if (name === 'CONDSTORE') session.condstore = true;
      turned.push(NAMES[name]);
    }
    session.untagged(turned.length ? `ENABLED ${turned.join(' ')}` : 'ENABLED');
    return ok('Enabled.');
  },
};
