import { hash as bcryptHash, verify as bcryptVerify } from '@node-rs/bcrypt';
import type { Scheme } from './scheme.js';

/**
 * `{BLF-CRYPT}$2y$NN$...` (bcrypt). @node-rs/bcrypt runs on libuv's thread pool, so this never
 * blocks the event loop. It verifies `$2a$`, `$2b$` and `$2y$` (one algorithm, three labels);
 * passwords are cut at 72 bytes, as in libxcrypt, so Dovecot and tsmail agree on long ones.
 *
 * New hashes use the `$2y$` label that Dovecot writes, but cost 10 instead of doveadm's default
 * `$2y$05$`: cost 5 is 32 key-schedule rounds, far below today's advice (OWASP: >= 10), while
 * cost 10 is some 50-70 ms of a libuv thread, paid once per login and cache TTL. Dovecot
 * verifies any cost, so this is invisible to it.
 */
const COST = 10;
const LABEL = /^\$2[aby]\$/;

export const BLF_CRYPT: Scheme = {
  name: 'BLF-CRYPT',
  async verify(hash, password) {
    if (!LABEL.test(hash)) return false;
    try {
      return await bcryptVerify(password, hash);
    } catch {
      return false;
    }
  },
  async hash(password) {
    // @node-rs/bcrypt 1.x writes `$2b$`; `$2y$` is the same algorithm under the label Dovecot uses.
    return (await bcryptHash(password, COST)).replace(/^\$2b\$/, '$2y$');
  },
};
