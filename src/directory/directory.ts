import { normalizeAddress } from '../core/address.js';
import { randomBytes } from 'node:crypto';
import { InvalidInput, TempFailure } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { expandMailLocation } from './mail-location.js';
import { quotaFromRules } from './quota-rule.js';
import { AliasResolver } from './resolve.js';
import { SystemIds } from './system-ids.js';
import type { DirectoryBackend, MailUser, Resolution, UserDirectory, UserEntry } from './types.js';

/** What the directory needs from the password module (schemes/index.ts `PasswordHasher`). */
export interface PasswordVerifier {
  /** `client` names whose work this is, so one client's flood cannot starve the others. */
  verify(stored: string, password: Buffer, client?: string): Promise<boolean>;
  /** A stored password (`{SCHEME}...`) in the default scheme. */
  hash(password: string): Promise<string>;
}

/**
 * glibc's crypt(3), which Dovecot's crypt schemes call, refuses passphrases of 512 bytes and more
 * (CRYPT_MAX_PASSPHRASE_SIZE); SHA-crypt's cost grows with the length, so longer input is refused
 * before any lookup or hashing, as a wrong password, for every scheme.
 */
export const MAX_LOGIN_PASSWORD_BYTES = 511;

export interface DirectoryOptions {
  /** Dovecot mail_location with an absolute path, e.g. `maildir:/var/mail/vhosts/%d/%n`. */
  mailLocation: string;
  recipientDelimiter: string;
}

/**
 * The one `UserDirectory`: alias resolution, logins and userdb lookups over any backend.
 * Backend failures propagate as TempFailure; nothing here turns them into "unknown".
 */
export class Directory implements UserDirectory {
  private readonly resolver: AliasResolver;
  private dummy: Promise<string> | undefined;

  constructor(
    private readonly backend: DirectoryBackend,
    private readonly passwords: PasswordVerifier,
    private readonly opts: DirectoryOptions,
    private readonly log: Logger,
    private readonly ids = new SystemIds(),
  ) {
    this.resolver = new AliasResolver(backend, opts.recipientDelimiter, log);
  }

  isLocalDomain(domain: string): Promise<boolean> {
    return this.resolver.isOurDomain(domain.toLowerCase());
  }

  resolve(address: string): Promise<Resolution> {
    return this.resolver.resolve(address);
  }

  async addressExists(address: string): Promise<boolean> {
    return (await this.resolve(address)).kind === 'deliver';
  }

  async ownsAddress(user: string, address: string): Promise<boolean> {
    const me = normalizeAddress(user);
    const r = await this.resolve(address);
    return r.kind === 'deliver' && r.mailboxes.includes(me);
  }

  async authenticate(user: string, password: string | Buffer, client?: string): Promise<MailUser | null> {
    const bytes = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
    if (bytes.length > MAX_LOGIN_PASSWORD_BYTES) return null;
    // Never trimmed into someone else's name: ` alice@example.test` is nobody.
    const name = user === user.trim() ? loginName(user) : null;
    const entry = name === null ? null : await this.backend.findUser(name);
    if (name === null || !entry || entry.password === null) {
      // Unknown users cost what known ones do, so that timing does not tell which exist.
      try {
        await this.passwords.verify(await this.dummyHash(), bytes, client);
      } catch (err) {
        if (err instanceof TempFailure) throw err;
      }
      return null;
    }
    let ok: boolean;
    try {
      ok = await this.passwords.verify(entry.password, bytes, client);
    } catch (err) {
      if (err instanceof TempFailure) throw err;
      // An unparseable stored hash is the operator's problem, not a reason to let anyone in.
      this.log.error({ user: name, err: (err as Error).message }, 'cannot verify stored password');
      return null;
    }
    return ok ? this.toMailUser(name, entry) : null;
  }

  /** A hash of a random password in the default scheme, made once (what unknown users are checked against). */
  private dummyHash(): Promise<string> {
    if (this.dummy === undefined) {
      const made = this.passwords.hash(randomBytes(18).toString('base64'));
      this.dummy = made;
      made.catch(() => {
        if (this.dummy === made) this.dummy = undefined; // tried again next time
      });
    }
    return this.dummy;
  }

  async lookupUser(user: string): Promise<MailUser | null> {
    const name = loginName(user);
    if (name === null) return null;
    const entry = await this.backend.findUser(name);
    return entry ? this.toMailUser(name, entry) : null;
  }

  async reload(): Promise<void> {
    this.ids.reload();
    await this.backend.reload();
  }

  close(): Promise<void> {
    return this.backend.close();
  }

  private async toMailUser(name: string, entry: UserEntry): Promise<MailUser> {
    const home = entry.home ?? null;
    const location = entry.mail && entry.mail !== '' ? entry.mail : this.opts.mailLocation;
    const quota = quotaFromRules(entry.quotaRules ?? []);
    return {
      user: name,
      maildir: expandMailLocation(location, { user: name, home }),
      quotaBytes: quota.bytes,
      quotaMessages: quota.messages,
      uid: await this.ids.uid(entry.uid),
      gid: await this.ids.gid(entry.gid),
      home,
    };
  }
}

/** Login names are full addresses; anything else (no domain, path tricks, NUL) cannot log in. */
function loginName(user: string): string | null {
  try {
    return normalizeAddress(user);
  } catch (err) {
    if (err instanceof InvalidInput) return null;
    throw err;
  }
}
