import { cryptScheme } from './crypt-scheme.js';

/** `{SHA256-CRYPT}$5$[rounds=N$]salt$hash`; new hashes as `doveadm pw -s SHA256-CRYPT` writes them. */
export const SHA256_CRYPT = cryptScheme('SHA256-CRYPT', '$5$', 16);
