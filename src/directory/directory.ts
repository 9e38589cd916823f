import { normalizeAddress } from '../core/address.js';
import { InvalidInput } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { expandMailLocation } from './mail-location.js';
import { quotaFromRules } from './quota-rule.js';
import { AliasResolver } from './resolve.js';
import { SystemIds } from './system-ids.js';
import type { DirectoryBackend, MailUser, Resolution, UserDirectory, UserEntry } from './types.js';

/** What the directory needs from the password module (schemes/index.ts `PasswordHasher`). */
export interface PasswordVerifier {
  verify(stored: string, password: string): Promise<boolean>;
}

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

  async authenticate(user: string, password: string): Promise<MailUser | null> {
    const name = loginName(user);
    if (name === null) return null;
    const entry = await this.backend.findUser(name);
    if (!entry || entry.password === null) return null;
    let ok: boolean;
    try {
      ok = await this.passwords.verify(entry.password, password);
    } catch (err) {
      // An unparseable stored hash is the operator's problem, not a reason to let anyone in.
      this.log.error({ user: name, err: (err as Error).message }, 'cannot verify stored password');
      return null;
    }
    return ok ? this.toMailUser(name, entry) : null;
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
