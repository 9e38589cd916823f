/**
 * The user directory: what every protocol asks about domains, addresses and users.
 *
 * Two layers:
 *  - `DirectoryBackend` is a set of Postfix/Dovecot-style lookup maps over one store
 *    (a Dovecot passwd-file + Postfix text alias map, or MySQL tables). It answers single lookups
 *    and knows nothing about recursion, catch-alls or plus addressing.
 *  - `UserDirectory` (implemented once, in directory.ts) builds alias resolution, password
 *    verification, mail location and quota on top of any backend.
 *
 * Backends throw `TempFailure` when their store is unreachable (never "not found"), so that
 * callers can answer 4xx / NO [UNAVAILABLE] instead of bouncing mail or rejecting a login.
 */

/** One user row as the passdb/userdb would return it (Dovecot field names where they exist). */
export interface UserEntry {
  /** The user name as stored, normally the full address. */
  user: string;
  /** Stored password, with or without a `{SCHEME}` prefix; null when the user may not log in. */
  password: string | null;
  /** Dovecot userdb `mail` field (e.g. `maildir:/var/mail/vhosts/%d/%n`), when the store has one. */
  mail?: string;
  /** Dovecot userdb `home`. */
  home?: string;
  /** Numeric id or a system user/group name as in a passwd-file (`mail`, `vmail`). */
  uid?: number | string;
  gid?: number | string;
  /** Dovecot quota rules such as `*:storage=1024M` or `*:bytes=1048576`. */
  quotaRules?: string[];
}

export interface DirectoryBackend {
  readonly kind: 'passwd-file' | 'mysql';
  /** Postfix virtual_mailbox_domains: mail for this domain is ours. */
  isLocalDomain(domain: string): Promise<boolean>;
  /** PostfixAdmin-style alias domain: `alias.example` → `example.net`, or null. */
  aliasDomainTarget(domain: string): Promise<string | null>;
  /** Postfix virtual_mailbox_maps: the address is a mailbox. */
  mailboxExists(address: string): Promise<boolean>;
  /**
   * Postfix virtual_alias_maps, one lookup of the exact key (an address or `@domain`).
   * Comma-separated values are already split and trimmed; empty entries dropped.
   */
  aliasTargets(key: string): Promise<string[]>;
  /** Dovecot passdb + userdb for a user name; null when unknown, inactive or deleted. */
  findUser(user: string): Promise<UserEntry | null>;
  /** Re-read files / drop caches (SIGHUP). */
  reload(): Promise<void>;
  close(): Promise<void>;
}

export interface AliasEntry {
  source: string;
  destinations: string[];
}

export interface NewUser {
  address: string;
  /** Already hashed, with `{SCHEME}` prefix. */
  password: string;
  /** Bytes; null = unlimited / backend default. */
  quotaBytes: number | null;
}

/** Write access used by the CLI. Backends whose schema they do not own refuse with `Unsupported`. */
export interface DirectoryAdmin {
  listUsers(): Promise<string[]>;
  addUser(user: NewUser): Promise<void>;
  deleteUser(address: string): Promise<void>;
  setPassword(address: string, password: string): Promise<void>;
  listDomains(): Promise<string[]>;
  addDomain(domain: string): Promise<void>;
  deleteDomain(domain: string): Promise<void>;
  listAliases(): Promise<AliasEntry[]>;
  addAlias(source: string, destination: string): Promise<void>;
  deleteAlias(source: string, destination?: string): Promise<void>;
}

/** What `UserDirectory.lookupUser` and a successful login return. */
export interface MailUser {
  /** Normalized login name (the full address). */
  user: string;
  /** Absolute path of the user's Maildir. */
  maildir: string;
  /** Bytes; null = no limit. */
  quotaBytes: number | null;
  /** Message-count limit (`*:messages=`), null = no limit. */
  quotaMessages: number | null;
  uid: number | null;
  gid: number | null;
  home: string | null;
}

export type Resolution =
  /** The domain is not ours: relay territory. */
  | { kind: 'foreign' }
  /** The domain is ours but nothing answers to the address (550 5.1.1). */
  | { kind: 'unknown' }
  /** Final destinations: local mailboxes (normalized user names) and forwards to other domains. */
  | { kind: 'deliver'; mailboxes: string[]; forwards: string[] };

export interface UserDirectory {
  isLocalDomain(domain: string): Promise<boolean>;
  /** True when mail to the address would be accepted (mailbox, alias, catch-all, plus address). */
  addressExists(address: string): Promise<boolean>;
  /** Full alias expansion: recursive, loop-safe, catch-alls, alias domains, plus addressing. */
  resolve(address: string): Promise<Resolution>;
  /**
   * Verifies a password, compared as bytes (a string is taken as UTF-8); null on wrong password,
   * unknown user, or a password of 512 bytes or more. `client` (the client's IP) keeps password
   * hashing fair between clients. TempFailure when the store is down.
   */
  authenticate(user: string, password: string | Buffer, client?: string): Promise<MailUser | null>;
  lookupUser(user: string): Promise<MailUser | null>;
  /** All addresses that mail may be sent as by this user (its own and aliases resolving to it). */
  ownsAddress(user: string, address: string): Promise<boolean>;
  reload(): Promise<void>;
  close(): Promise<void>;
}
