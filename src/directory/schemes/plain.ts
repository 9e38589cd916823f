import { constantTimeEqual } from './compare.js';
import type { Scheme } from './scheme.js';

/** `{PLAIN}` (also `{CLEAR}`, `{CLEARTEXT}`): the password itself, compared in constant time. */
export const PLAIN: Scheme = {
  name: 'PLAIN',
  async verify(hash, password) {
    return constantTimeEqual(hash, password);
  },
  async hash(password) {
    return password;
  },
};
