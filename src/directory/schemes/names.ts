/** The password schemes tsmail implements, spelled as Dovecot's `{SCHEME}` prefixes spell them. */
export const SCHEMES = [
  'SHA512-CRYPT',
  'SHA256-CRYPT',
  'BLF-CRYPT',
  'MD5-CRYPT',
  'SHA512',
  'SSHA512',
  'ARGON2I',
  'ARGON2ID',
  'PLAIN',
] as const;

export type SchemeName = (typeof SCHEMES)[number];

const NAMES: ReadonlySet<string> = new Set(SCHEMES);

/** Exact, upper-case match; callers that accept user input upper-case it first. */
export function isSchemeName(s: string): s is SchemeName {
  return NAMES.has(s);
}
