import { normalizeAddress, normalizeDomain } from '../core/address.js';
import { InvalidInput } from '../core/errors.js';
import { formatSize, parseSize } from '../core/size.js';
import { withContext } from './context.js';
import { CliExit, type CliIo } from './io.js';
import { readPassword } from './password-input.js';

/** `user`, `domain` and `alias` subcommands: thin wrappers over DirectoryAdmin. */
export class DirectoryCommands {
  constructor(private readonly io: CliIo) {}

  async userAdd(address: string, opts: { config?: string; quota?: string; passwordStdin?: boolean }): Promise<void> {
    const user = normalizeAddress(address);
    const quotaBytes = opts.quota ? parseQuota(opts.quota) : null;
    const password = await readPassword(this.io, { fromStdin: !!opts.passwordStdin, confirm: true });
    await withContext(opts.config, this.io, async ({ admin, hasher }) => {
      await admin.addUser({ address: user, password: await hasher.hash(password), quotaBytes });
    });
    this.out(`added user ${user}${quotaBytes ? ` (quota ${formatSize(quotaBytes)})` : ''}`);
  }

  async userList(opts: { config?: string }): Promise<void> {
    const users = await withContext(opts.config, this.io, ({ admin }) => admin.listUsers());
    for (const u of users) this.out(u);
  }

  async userDel(address: string, opts: { config?: string }): Promise<void> {
    const user = normalizeAddress(address);
    await withContext(opts.config, this.io, ({ admin }) => admin.deleteUser(user));
    this.out(`deleted user ${user} (its Maildir is kept)`);
  }

  async userPasswd(address: string, opts: { config?: string; passwordStdin?: boolean }): Promise<void> {
    const user = normalizeAddress(address);
    const password = await readPassword(this.io, { fromStdin: !!opts.passwordStdin, confirm: true });
    await withContext(opts.config, this.io, async ({ admin, hasher }) => {
      await admin.setPassword(user, await hasher.hash(password));
    });
    this.out(`changed password of ${user}`);
  }

  async domainAdd(domain: string, opts: { config?: string }): Promise<void> {
    const d = normalizeDomain(domain);
    await withContext(opts.config, this.io, ({ admin }) => admin.addDomain(d));
    this.out(`added domain ${d}`);
  }

  async domainDel(domain: string, opts: { config?: string }): Promise<void> {
    const d = normalizeDomain(domain);
    await withContext(opts.config, this.io, ({ admin }) => admin.deleteDomain(d));
    this.out(`deleted domain ${d}`);
  }

  async domainList(opts: { config?: string }): Promise<void> {
    const domains = await withContext(opts.config, this.io, ({ admin }) => admin.listDomains());
    for (const d of domains) this.out(d);
  }

  async aliasAdd(source: string, destination: string, opts: { config?: string }): Promise<void> {
    const src = aliasSource(source);
    const dest = normalizeAddress(destination);
    await withContext(opts.config, this.io, async ({ admin }) => {
      const domain = src.slice(src.lastIndexOf('@') + 1);
      if (!(await admin.isLocalDomain(domain)) && (await admin.aliasDomainTarget(domain)) === null) {
        throw new InvalidInput(`domain ${domain} is not local; add it first with: tsmail domain add ${domain}`);
      }
      await admin.addAlias(src, dest);
    });
    this.out(`added alias ${src} → ${dest}`);
  }

  async aliasDel(source: string, destination: string | undefined, opts: { config?: string }): Promise<void> {
    const src = aliasSource(source);
    const dest = destination === undefined ? undefined : normalizeAddress(destination);
    await withContext(opts.config, this.io, ({ admin }) => admin.deleteAlias(src, dest));
    this.out(`deleted alias ${src}${dest ? ` → ${dest}` : ''}`);
  }

  async aliasList(opts: { config?: string }): Promise<void> {
    const aliases = await withContext(opts.config, this.io, ({ admin }) => admin.listAliases());
    for (const a of aliases) this.out(`${a.source} ${a.destinations.join(',')}`);
  }

  private out(line: string): void {
    this.io.stdout.write(line + '\n');
  }
}

/** An alias source is an address or a catch-all `@domain`. */
function aliasSource(source: string): string {
  return source.startsWith('@') ? `@${normalizeDomain(source.slice(1))}` : normalizeAddress(source);
}

function parseQuota(value: string): number {
  try {
    return parseSize(value);
  } catch (err) {
    throw new CliExit(`--quota: ${(err as Error).message}`);
  }
}
