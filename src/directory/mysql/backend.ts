/**
 * The directory over the MySQL tables an existing Postfix + Dovecot setup already has.
 * Lookups behave like the maps they replace: Postfix's virtual_mailbox_domains,
 * virtual_mailbox_maps and virtual_alias_maps (mysql_table(5)), Dovecot's SQL passdb/userdb.
 * Keys are folded to lower case first, as Postfix does for these maps (DICT_FLAG_FOLD_FIX) and
 * Dovecot's default auth_username_format = %Lu does for user names.
 *
 * Writes (the CLI) go through the preset's schema writer; with custom queries tsmail does not
 * know the schema and refuses.
 */
import { InvalidInput, TempFailure, Unsupported } from '../../core/errors.js';
import { normalizeAddress, normalizeDomain, parseAddress } from '../../core/address.js';
import type { Logger } from '../../core/logger.js';
import type { AliasEntry, DirectoryAdmin, DirectoryBackend, NewUser, UserEntry } from '../types.js';
import type { AliasKey, SchemaAdmin } from './admin/types.js';
import { mapValues, splitAddressList } from './map-values.js';
import type { MysqlOptions } from './options.js';
import { MysqlPool, type Row } from './pool.js';
import { PRESETS, resolveQueries, type CompiledQueries } from './presets.js';
import type { CompiledQuery } from './query-template.js';
import { userEntryFromRows } from './userdb-fields.js';

const CUSTOM_WRITES_REFUSED =
  'the CLI can only write to the preset schemas; with custom queries manage users in your own tool';

function aliasKey(source: string): AliasKey {
  if (source.trim().startsWith('@')) {
    const domain = normalizeDomain(source.trim().slice(1));
    return { key: `@${domain}`, domain };
  }
  const key = normalizeAddress(source);
  return { key, domain: parseAddress(key).domain };
}

function checkPassword(password: string): void {
  if (password === '' || /[\u0000-\u001f\u007f]/.test(password)) {
    throw new InvalidInput('the password hash is empty or contains control characters');
  }
}

export class MysqlBackend implements DirectoryBackend, DirectoryAdmin {
  readonly kind = 'mysql' as const;
  private readonly queries: CompiledQueries;
  private readonly db: MysqlPool;
  private readonly writer: SchemaAdmin | null;
  private readonly log: Logger;

  constructor(opts: MysqlOptions, log: Logger) {
    // Compile first: a bad query is a ConfigError at startup, before any connection exists.
    this.queries = resolveQueries(opts.preset, opts.queries);
    this.log = log.child({ component: 'directory-mysql' });
    this.db = new MysqlPool(opts, this.log);
    this.writer = opts.preset === 'custom' ? null : PRESETS[opts.preset].admin(this.db);
  }

  async isLocalDomain(domain: string): Promise<boolean> {
    return (await this.mapLookup(this.queries.domain, domain)).length > 0;
  }

  async aliasDomainTarget(domain: string): Promise<string | null> {
    if (this.queries.aliasDomain === null) return null;
    const [target] = await this.mapLookup(this.queries.aliasDomain, domain);
    return target?.trim().toLowerCase() || null;
  }

  async mailboxExists(address: string): Promise<boolean> {
    return (await this.mapLookup(this.queries.mailbox, address)).length > 0;
  }

  async aliasTargets(key: string): Promise<string[]> {
    // Postfix asks every map of virtual_alias_maps; here all of them are joined.
    const results = await Promise.all(this.queries.alias.map((query) => this.mapLookup(query, key)));
    const targets = results.flat().flatMap(splitAddressList);
    return [...new Set(targets)];
  }

  async findUser(user: string): Promise<UserEntry | null> {
    const key = user.trim().toLowerCase();
    if (key === '') return null;
    const userQuery = this.queries.user;
    const [passRows, userRows] = await Promise.all([
      this.dovecotLookup(this.queries.password, key),
      userQuery === null ? Promise.resolve(undefined) : this.dovecotLookup(userQuery, key),
    ]);
    const passRow = passRows[0];
    if (passRow === undefined) return null;
    if (passRows.length > 1) {
      // Dovecot's SQL passdb fails the login on this too rather than picking a row.
      this.log.error({ query: this.queries.password.name, user: key }, 'mysql: password query returned multiple rows');
      throw new TempFailure(`password query returned ${passRows.length} rows for one user`);
    }
    // Dovecot: a user the userdb does not know cannot log in or receive mail.
    if (userRows !== undefined && userRows[0] === undefined) return null;
    return userEntryFromRows(key, passRow, userRows?.[0]);
  }

  async reload(): Promise<void> {
    // Nothing is cached here; queries are fixed by the config, which is reloaded by recreating.
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /** Loads the MySQL driver now, before a root-started daemon switches users; connects later. */
  async preload(): Promise<void> {
    await this.db.loadDriver();
  }

  async listUsers(): Promise<string[]> {
    return this.schema().listUsers();
  }

  async addUser(user: NewUser): Promise<void> {
    const schema = this.schema();
    const address = normalizeAddress(user.address);
    const { local, domain } = parseAddress(address);
    checkPassword(user.password);
    if (user.quotaBytes !== null && !(Number.isSafeInteger(user.quotaBytes) && user.quotaBytes >= 0)) {
      throw new InvalidInput(`quota must be a whole number of bytes, got ${user.quotaBytes}`);
    }
    await schema.addUser({ address, local, domain, password: user.password, quotaBytes: user.quotaBytes });
  }

  async deleteUser(address: string): Promise<void> {
    const schema = this.schema();
    await schema.deleteUser(normalizeAddress(address));
  }

  async setPassword(address: string, password: string): Promise<void> {
    const schema = this.schema();
    checkPassword(password);
    await schema.setPassword(normalizeAddress(address), password);
  }

  async listDomains(): Promise<string[]> {
    return this.schema().listDomains();
  }

  async addDomain(domain: string): Promise<void> {
    const schema = this.schema();
    await schema.addDomain(normalizeDomain(domain));
  }

  async deleteDomain(domain: string): Promise<void> {
    const schema = this.schema();
    await schema.deleteDomain(normalizeDomain(domain));
  }

  async listAliases(): Promise<AliasEntry[]> {
    return this.schema().listAliases();
  }

  async addAlias(source: string, destination: string): Promise<void> {
    const schema = this.schema();
    await schema.addAlias(aliasKey(source), normalizeAddress(destination));
  }

  async deleteAlias(source: string, destination?: string): Promise<void> {
    const schema = this.schema();
    await schema.deleteAlias(aliasKey(source).key, destination === undefined ? undefined : normalizeAddress(destination));
  }

  private schema(): SchemaAdmin {
    if (this.writer === null) throw new Unsupported(CUSTOM_WRITES_REFUSED);
    return this.writer;
  }

  /** One Postfix map lookup: every non-empty value; [] when mysql_table(5) suppresses it. */
  private async mapLookup(query: CompiledQuery, key: string): Promise<string[]> {
    const params = query.params(key.trim().toLowerCase());
    if (params === null) return [];
    return mapValues(await this.db.arrays(query.name, query.sql, params));
  }

  private async dovecotLookup(query: CompiledQuery, user: string): Promise<Row[]> {
    const params = query.params(user);
    if (params === null) return [];
    return this.db.rows(query.name, query.sql, params);
  }
}
