import { constantTimeEqual } from './compare.js';
import type { Scheme } from './scheme.js';

/**
 * `{PLAIN}` (also `{CLEAR}`, `{CLEARTEXT}`): the password itself, its UTF-8 bytes compared with
 * the bytes sent, in constant time.
 */
export const PLAIN: Scheme = {
  name: 'PLAIN',
  async verify(hash, password) {
    return constantTimeEqual(Buffer.from(hash, 'utf8'), password);
  },
  async hash(password) {
    return password.toString('utf8');
  },
};
