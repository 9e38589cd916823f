import { readFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInput, NotFound } from '../../core/errors.js';
import { writeFileAtomic, withFileLock } from '../../core/atomic-file.js';
import type { AliasEntry, DirectoryAdmin, DirectoryBackend, NewUser, UserEntry } from '../types.js';
import { quotaRuleForBytes } from '../quota-rule.js';
import { formatPasswdLine, parsePasswdLine, toUserEntry, type PasswdLine } from './format.js';
import { formatAliasMap, parseAliasMap, parseDomainList } from './alias-map.js';
import { WatchedFile } from './watched-file.js';

export interface PasswdFileOptions {
  passwdFile: string;
  aliasesFile: string;
  /** Domains added at run time (`tsmail domain add`). */
  domainsFile: string;
  /** Domains from the config file: always local, cannot be deleted from the CLI. */
  configDomains: readonly string[];
  checkIntervalMs?: number;
  /** Told when a file that was read before can no longer be read (permissions): its last contents stay. */
  onStale?: (path: string, err: NodeJS.ErrnoException) => void;
}

interface Users {
  byName: Map<string, UserEntry>;
}

interface Aliases {
  byKey: Map<string, string[]>;
  entries: AliasEntry[];
}

/**
 * The no-database directory: a Dovecot passwd-file for users (seed 002's /etc/dovecot/users),
 * a Postfix-style text map for aliases and a plain list of domains. Files are re-read when they
 * change; writes from the CLI are atomic and locked.
 */
export class PasswdFileBackend implements DirectoryBackend, DirectoryAdmin {
  readonly kind = 'passwd-file' as const;
  private readonly users: WatchedFile<Users>;
  private readonly aliases: WatchedFile<Aliases>;
  private readonly domains: WatchedFile<Set<string>>;

  constructor(private readonly opts: PasswdFileOptions) {
    const interval = opts.checkIntervalMs ?? 1000;
    const onStale = opts.onStale;
    this.users = new WatchedFile(opts.passwdFile, parseUsers, interval, Date.now, onStale);
    this.aliases = new WatchedFile(opts.aliasesFile, parseAliases, interval, Date.now, onStale);
    this.domains = new WatchedFile(opts.domainsFile, (t) => new Set(parseDomainList(t)), interval, Date.now, onStale);
  }

  /**
   * Reads all three files now: a daemon started as root does this before switching to
   * `daemon.user`, so a passwd-file only root may read (0600, as Dovecot's often is) is loaded.
   */
  async preload(): Promise<void> {
    await Promise.all([this.users.get(), this.aliases.get(), this.domains.get()]);
  }

  async isLocalDomain(domain: string): Promise<boolean> {
    const d = domain.toLowerCase();
    return this.opts.configDomains.includes(d) || (await this.domains.get()).has(d);
  }

  async aliasDomainTarget(): Promise<string | null> {
    // Alias domains are expressed in the text map as `@alias.example  @example.test`.
    return null;
  }

  async mailboxExists(address: string): Promise<boolean> {
    return (await this.users.get()).byName.has(address.toLowerCase());
  }

  async aliasTargets(key: string): Promise<string[]> {
    return (await this.aliases.get()).byKey.get(key.toLowerCase()) ?? [];
  }

  async findUser(user: string): Promise<UserEntry | null> {
    return (await this.users.get()).byName.get(user.toLowerCase()) ?? null;
  }

  async reload(): Promise<void> {
    this.users.invalidate();
    this.aliases.invalidate();
    this.domains.invalidate();
  }

  async close(): Promise<void> {}

  // ---- DirectoryAdmin -------------------------------------------------------------------

  async listUsers(): Promise<string[]> {
    return [...(await this.users.get()).byName.keys()].sort();
  }

  async addUser(user: NewUser): Promise<void> {
    const name = user.address.toLowerCase();
    const domain = name.slice(name.lastIndexOf('@') + 1);
    if (!(await this.isLocalDomain(domain))) {
      throw new InvalidInput(`domain ${domain} is not local; add it first with: tsmail domain add ${domain}`);
    }
    await this.editLines(this.opts.passwdFile, (lines) => {
      if (lines.some((l) => parsePasswdLine(l)?.user.toLowerCase() === name)) {
        throw new InvalidInput(`user ${name} already exists`);
      }
      const extra = user.quotaBytes ? [`userdb_quota_rule=${quotaRuleForBytes(user.quotaBytes)}`] : [];
      lines.push(formatPasswdLine({ user: name, password: user.password, uid: '', gid: '', gecos: '', home: '', shell: '', extra }));
      return lines;
    });
    this.users.invalidate();
  }

  async deleteUser(address: string): Promise<void> {
    const name = address.toLowerCase();
    await this.editLines(this.opts.passwdFile, (lines) => {
      const kept = lines.filter((l) => parsePasswdLine(l)?.user.toLowerCase() !== name);
      if (kept.length === lines.length) throw new NotFound(`no such user: ${name}`);
      return kept;
    });
    this.users.invalidate();
  }

  async setPassword(address: string, password: string): Promise<void> {
    const name = address.toLowerCase();
    await this.editLines(this.opts.passwdFile, (lines) => {
      let found = false;
      const out = lines.map((l) => {
        const p = parsePasswdLine(l);
        if (!p || p.user.toLowerCase() !== name) return l;
        found = true;
        return formatPasswdLine({ ...p, password } satisfies PasswdLine);
      });
      if (!found) throw new NotFound(`no such user: ${name}`);
      return out;
    });
    this.users.invalidate();
  }

  async listDomains(): Promise<string[]> {
    const all = new Set([...this.opts.configDomains, ...(await this.domains.get())]);
    return [...all].sort();
  }

  async addDomain(domain: string): Promise<void> {
    const d = domain.toLowerCase();
    if (await this.isLocalDomain(d)) throw new InvalidInput(`domain ${d} already exists`);
    await this.editLines(this.opts.domainsFile, (lines) => [...lines, d]);
    this.domains.invalidate();
  }

  async deleteDomain(domain: string): Promise<void> {
    const d = domain.toLowerCase();
    if (this.opts.configDomains.includes(d)) {
      throw new InvalidInput(`domain ${d} is listed in the config file (directory.domains); remove it there`);
    }
    await this.editLines(this.opts.domainsFile, (lines) => {
      const kept = lines.filter((l) => l.trim().toLowerCase() !== d);
      if (kept.length === lines.length) throw new NotFound(`no such domain: ${d}`);
      return kept;
    });
    this.domains.invalidate();
  }

  async listAliases(): Promise<AliasEntry[]> {
    return (await this.aliases.get()).entries;
  }

  async addAlias(source: string, destination: string): Promise<void> {
    const key = source.toLowerCase();
    await this.editAliases((entries) => {
      const entry = entries.find((e) => e.source === key);
      if (!entry) return [...entries, { source: key, destinations: [destination] }];
      if (entry.destinations.includes(destination)) throw new InvalidInput(`alias ${key} → ${destination} already exists`);
      entry.destinations.push(destination);
      return entries;
    });
  }

  async deleteAlias(source: string, destination?: string): Promise<void> {
    const key = source.toLowerCase();
    await this.editAliases((entries) => {
      const entry = entries.find((e) => e.source === key);
      if (!entry || (destination && !entry.destinations.includes(destination))) {
        throw new NotFound(`no such alias: ${key}${destination ? ` → ${destination}` : ''}`);
      }
      entry.destinations = destination ? entry.destinations.filter((d) => d !== destination) : [];
      return entries.filter((e) => e.destinations.length > 0);
    });
  }

  private async editAliases(edit: (entries: AliasEntry[]) => AliasEntry[]): Promise<void> {
    const file = this.opts.aliasesFile;
    await mkdir(path.dirname(file), { recursive: true });
    await withFileLock(file, async () => {
      const text = await readFile(file, 'utf8').catch(() => '');
      const header = text.split('\n').filter((l) => l.startsWith('#')).map((l) => l + '\n').join('');
      await writeFileAtomic(file, header + formatAliasMap(edit(parseAliasMap(text))), 0o640);
    });
    this.aliases.invalidate();
  }

  /** Read-modify-write of a line-based file under its lock; comments and unknown lines are kept. */
  private async editLines(file: string, edit: (lines: string[]) => string[]): Promise<void> {
    await mkdir(path.dirname(file), { recursive: true });
    await withFileLock(file, async () => {
      const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return '';
        throw err;
      });
      const lines = text.split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      const out = edit(lines);
      await writeFileAtomic(file, out.length ? out.join('\n') + '\n' : '', 0o600);
    });
  }
}

function parseUsers(text: string): Users {
  const byName = new Map<string, UserEntry>();
  for (const line of text.split(/\r?\n/)) {
    const p = parsePasswdLine(line);
    // Dovecot uses the first matching line; keep that behaviour for duplicated users.
    if (p && !byName.has(p.user.toLowerCase())) byName.set(p.user.toLowerCase(), toUserEntry(p));
  }
  return { byName };
}

function parseAliases(text: string): Aliases {
  const entries = parseAliasMap(text);
  const byKey = new Map<string, string[]>();
  for (const e of entries) byKey.set(e.source, [...(byKey.get(e.source) ?? []), ...e.destinations]);
  return { byKey, entries };
}
