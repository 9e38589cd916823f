import type { SchemeName } from './names.js';

/** What a scheme may ask of the PasswordHasher that runs it. */
export interface SchemeContext {
  /** crypt(3) for `$1$`/`$5$`/`$6$` settings, off the main thread unless the hasher runs inline. */
  crypt(setting: string, password: Buffer): Promise<string>;
}

/**
 * One Dovecot password scheme. `hash` strings are without the `{SCHEME}` prefix.
 * `verify` resolves false for a wrong password and also for a hash its scheme cannot read
 * (Dovecot likewise fails such a login rather than erroring); it never rejects for either.
 * Passwords are bytes, as the client sent them (UTF-8 for text), and are compared as bytes.
 */
export interface Scheme {
  readonly name: SchemeName;
  verify(hash: string, password: Buffer, ctx: SchemeContext): Promise<boolean>;
  hash(password: Buffer, ctx: SchemeContext): Promise<string>;
}
