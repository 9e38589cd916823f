import { cryptScheme } from './crypt-scheme.js';

/**
 * `{MD5-CRYPT}$1$salt$hash` (Dovecot also calls it `{MD5}`); 8-character salts, the algorithm's
 * maximum and what doveadm writes. Kept for old databases: prefer SHA512-CRYPT for new passwords.
 */
export const MD5_CRYPT = cryptScheme('MD5-CRYPT', '$1$', 8);
