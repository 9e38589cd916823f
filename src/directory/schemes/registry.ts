import { ARGON2I, ARGON2ID } from './argon2.js';
import { BLF_CRYPT } from './blf-crypt.js';
import { MD5_CRYPT } from './md5-crypt.js';
import type { SchemeName } from './names.js';
import { PLAIN } from './plain.js';
import type { Scheme } from './scheme.js';
import { SHA256_CRYPT } from './sha256-crypt.js';
import { SHA512 } from './sha512.js';
import { SHA512_CRYPT } from './sha512-crypt.js';
import { SSHA512 } from './ssha512.js';

/** Every scheme by name: a typed constant (the Record type makes a missing scheme a compile error). */
export const SCHEME_IMPLS: Readonly<Record<SchemeName, Scheme>> = Object.freeze({
  'SHA512-CRYPT': SHA512_CRYPT,
  'SHA256-CRYPT': SHA256_CRYPT,
  'BLF-CRYPT': BLF_CRYPT,
  'MD5-CRYPT': MD5_CRYPT,
  SHA512,
  SSHA512,
  ARGON2I,
  ARGON2ID,
  PLAIN,
});
