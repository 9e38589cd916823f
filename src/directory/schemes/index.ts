/**
 * Dovecot password schemes: `{SCHEME}` parsing, verification and creation.
 * One file per scheme; hasher.ts ties them to a worker pool and a verify cache.
 */
export { SCHEMES, type SchemeName, isSchemeName } from './names.js';
export { parseStoredPassword, type ParsedPassword } from './parse.js';
export { PasswordHasher, type PasswordHasherOptions, MAX_PASSWORD_BYTES } from './hasher.js';
