import { InvalidInput } from '../../core/errors.js';
import { type SchemeName, isSchemeName } from './names.js';

/**
 * Splitting a stored password into scheme and hash, following Dovecot 2.3
 * (password_get_scheme() and the passdb's default_pass_scheme), checked with `doveadm pw -t`:
 *
 * - `{NAME}` is case-insensitive. Aliases: `{CRYPT}` (any crypt(3) `$id$` below), `{MD5}` =
 *   MD5-CRYPT, `{CLEAR}`/`{CLEARTEXT}` = PLAIN. An encoding suffix `.B64`/`.BASE64`/`.HEX` is
 *   accepted on SHA512 and SSHA512; hex is converted here so their verifiers only see base64.
 * - Dovecot verifies `{CRYPT}`, `{SHA256-CRYPT}` and `{SHA512-CRYPT}` all with libc crypt(3), so
 *   the hash's own `$id$` decides: `{SHA512-CRYPT}$5$...` is verified as SHA-256-crypt.
 *   `{ARGON2I}`/`{ARGON2ID}` likewise accept either variant. `{MD5-CRYPT}` and `{BLF-CRYPT}` do
 *   not switch (Dovecot's own MD5-crypt, and a blowfish-only check).
 * - Without a prefix: `$1$` always means MD5-CRYPT (Dovecot hard-codes this; anything after the
 *   hash's closing `$` is dropped). Otherwise the default scheme applies, except that when the
 *   default is itself a self-describing `$id$` scheme (the *-CRYPT and ARGON2 schemes) a known
 *   `$id$` (`$6$ $5$ $2a$ $2b$ $2y$ $argon2i$ $argon2id$`) picks the scheme, so one database
 *   may mix them, as it may under Dovecot's `CRYPT`.
 *
 * Unknown `{NAME}` throws InvalidInput; so does `{CRYPT}` with a format tsmail cannot verify
 * (traditional DES, `$sha1$`, yescrypt `$y$`...).
 */

const CRYPT_IDS: readonly (readonly [RegExp, SchemeName])[] = [
  [/^\$6\$/, 'SHA512-CRYPT'],
  [/^\$5\$/, 'SHA256-CRYPT'],
  [/^\$2[aby]\$/, 'BLF-CRYPT'],
  [/^\$1\$/, 'MD5-CRYPT'],
];
const ARGON2_IDS: readonly (readonly [RegExp, SchemeName])[] = [
  [/^\$argon2id\$/, 'ARGON2ID'],
  [/^\$argon2i\$/, 'ARGON2I'],
];
const SELF_DESCRIBING: ReadonlySet<SchemeName> = new Set<SchemeName>([
  'SHA512-CRYPT',
  'SHA256-CRYPT',
  'BLF-CRYPT',
  'MD5-CRYPT',
  'ARGON2I',
  'ARGON2ID',
]);
const ALIASES: Readonly<Record<string, SchemeName | 'CRYPT'>> = {
  CRYPT: 'CRYPT',
  MD5: 'MD5-CRYPT',
  CLEAR: 'PLAIN',
  CLEARTEXT: 'PLAIN',
};
const ENCODABLE: ReadonlySet<SchemeName> = new Set<SchemeName>(['SHA512', 'SSHA512']);

export interface ParsedPassword {
  scheme: SchemeName;
  hash: string;
}

function byId(hash: string, table: readonly (readonly [RegExp, SchemeName])[]): SchemeName | undefined {
  return table.find(([re]) => re.test(hash))?.[1];
}

export function parseStoredPassword(stored: string, defaultScheme: SchemeName): ParsedPassword {
  const close = stored.startsWith('{') ? stored.indexOf('}') : -1;
  if (close === -1) return parseBare(stored, defaultScheme);

  const label = stored.slice(1, close).toUpperCase();
  let hash = stored.slice(close + 1);
  const dot = label.indexOf('.');
  const base = dot === -1 ? label : label.slice(0, dot);
  const encoding = dot === -1 ? undefined : label.slice(dot + 1);
  const name = ALIASES[base] ?? (isSchemeName(base) ? base : undefined);
  if (name === undefined) throw new InvalidInput(`unknown password scheme {${label}}`);

  if (encoding !== undefined) {
    if (name === 'CRYPT' || !ENCODABLE.has(name) || !['HEX', 'B64', 'BASE64'].includes(encoding)) {
      throw new InvalidInput(`unsupported password scheme encoding {${label}}`);
    }
    if (encoding === 'HEX') {
      if (!/^(?:[0-9a-fA-F]{2})*$/.test(hash)) throw new InvalidInput(`{${label}} value is not hex`);
      hash = Buffer.from(hash, 'hex').toString('base64');
    }
  }

  switch (name) {
    case 'CRYPT': {
      const scheme = byId(hash, CRYPT_IDS);
      if (scheme === undefined) throw new InvalidInput('unsupported crypt(3) format in {CRYPT} password');
      return { scheme, hash };
    }
    case 'SHA512-CRYPT':
    case 'SHA256-CRYPT':
      return { scheme: byId(hash, CRYPT_IDS) ?? name, hash };
    case 'ARGON2I':
    case 'ARGON2ID':
      return { scheme: byId(hash, ARGON2_IDS) ?? name, hash };
    default:
      return { scheme: name, hash };
  }
}

function parseBare(stored: string, defaultScheme: SchemeName): ParsedPassword {
  const md5 = /^\$1\$[^$]*\$[^$]*/.exec(stored);
  if (md5 !== null) return { scheme: 'MD5-CRYPT', hash: md5[0] };
  if (SELF_DESCRIBING.has(defaultScheme)) {
    const scheme = byId(stored, CRYPT_IDS) ?? byId(stored, ARGON2_IDS);
    if (scheme !== undefined) return { scheme, hash: stored };
  }
  return { scheme: defaultScheme, hash: stored };
}
