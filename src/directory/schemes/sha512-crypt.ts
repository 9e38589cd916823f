import { cryptScheme } from './crypt-scheme.js';

/**
 * `{SHA512-CRYPT}$6$[rounds=N$]salt$hash`. New hashes: 16-character salt and the default 5000
 * rounds without a `rounds=` field, which is what `doveadm pw -s SHA512-CRYPT` writes.
 */
export const SHA512_CRYPT = cryptScheme('SHA512-CRYPT', '$6$', 16);
