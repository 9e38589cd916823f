/**
 * The four schemas tsmail knows (test/fixtures/schemas/*.sql), as the lookup queries their Postfix
 * maps and Dovecot configs use, in the same placeholder syntax an operator would paste, compiled
 * by the same code as custom queries. Map queries (domain, mailbox, alias, alias_domain) use
 * Postfix placeholders; password and user queries use Dovecot's.
 *
 * Differences from the seeds, on purpose:
 *  - no user query returns `mail` or `home`: the mail location comes from tsmail's config, so
 *    the same database works in dev/test setups (a custom user query may return them);
 *  - linode and isdel have no user query (their seeds use a static userdb); quota rules come
 *    from the schema where it has a quota column (platform MiB, PostfixAdmin bytes).
 */
import { ConfigError } from '../../core/errors.js';
import { IsDelAdmin } from './admin/isdel.js';
import { LinodeAdmin } from './admin/linode.js';
import { PlatformAdmin } from './admin/platform.js';
import { PostfixAdminAdmin } from './admin/postfixadmin.js';
import type { SchemaAdmin } from './admin/types.js';
import type { MysqlQueries, PresetName } from './options.js';
import type { Db } from './pool.js';
import { compileQuery, type CompiledQuery } from './query-template.js';

export interface PresetQueries {
  readonly domain: string;
  readonly mailbox: string;
  readonly alias: readonly string[];
  readonly alias_domain?: string;
  readonly password: string;
  readonly user?: string;
}

export interface Preset {
  readonly queries: PresetQueries;
  /** Write access for the CLI, over the same database. */
  admin(db: Db): SchemaAdmin;
}

function preset(queries: PresetQueries, admin: (db: Db) => SchemaAdmin): Preset {
  return Object.freeze({ queries: Object.freeze({ ...queries, alias: Object.freeze([...queries.alias]) }), admin });
}

export const PRESETS: Readonly<Record<PresetName, Preset>> = Object.freeze({
  // Seed 000: soft delete through deleted_at, is_verified domains, is_active rows.
  platform: preset(
    {
      domain: "SELECT 1 FROM mail_domains WHERE domain_name = '%s' AND is_verified = 1 AND deleted_at IS NULL",
      mailbox: "SELECT 1 FROM mail_mailboxes WHERE email = '%s' AND is_active = 1 AND deleted_at IS NULL",
      alias: ["SELECT destination_email FROM mail_aliases WHERE alias_email = '%s' AND is_active = 1"],
      password:
        "SELECT email as user, password_hash as password FROM mail_mailboxes WHERE email = '%u' AND is_active = 1 AND deleted_at IS NULL",
      user:
        "SELECT email as user, 5000 AS uid, 5000 AS gid, CONCAT('*:storage=', CAST(storage_quota AS CHAR), 'M') AS quota_rule " +
        "FROM mail_mailboxes WHERE email = '%u' AND is_active = 1 AND deleted_at IS NULL",
    },
    (db) => new PlatformAdmin(db),
  ),
  // Seed 001 (Linode guide): plain rows, email2email maps every mailbox to itself so that a
  // catch-all alias does not swallow mail for existing mailboxes.
  linode: preset(
    {
      domain: "SELECT 1 FROM virtual_domains WHERE name='%s'",
      mailbox: "SELECT 1 FROM virtual_users WHERE email='%s'",
      alias: ["SELECT destination FROM virtual_aliases WHERE source='%s'", "SELECT email FROM virtual_users WHERE email='%s'"],
      password: "SELECT email as user, password FROM virtual_users WHERE email='%u'",
    },
    (db) => new LinodeAdmin(db),
  ),
  // Seed 003: soft delete through isDel = 'Y'.
  isdel: preset(
    {
      domain: "SELECT 1 FROM virtual_domains WHERE domain = '%s' AND isDel='N'",
      mailbox: "SELECT 1 FROM virtual_users WHERE usrEmail = '%s' AND isDel = 'N'",
      alias: ["SELECT destination FROM virtual_aliases WHERE source = '%s' AND isDel = 'N'"],
      password: "SELECT usrEmail AS user, passwd AS password FROM virtual_users WHERE usrEmail = '%u' AND isDel = 'N'",
    },
    (db) => new IsDelAdmin(db),
  ),
  // Seed 004 (PostfixAdmin): goto lists, alias domains, quota in bytes.
  postfixadmin: preset(
    {
      domain: "SELECT domain FROM domain WHERE domain='%s' AND backupmx = 0 AND active = 1",
      mailbox: "SELECT maildir FROM mailbox WHERE username='%s' AND active = 1",
      alias: [
        "SELECT goto FROM alias WHERE address='%s' AND active = 1",
        "SELECT goto FROM alias, alias_domain WHERE alias_domain.alias_domain = '%d' " +
          "AND alias.address = CONCAT('%u', '@', alias_domain.target_domain) AND alias.active = 1 AND alias_domain.active = 1",
      ],
      alias_domain: "SELECT target_domain FROM alias_domain WHERE alias_domain='%s' AND active = 1",
      password: "SELECT username AS user, password FROM mailbox WHERE username = '%u' AND active = '1'",
      user:
        "SELECT username AS user, 5000 AS uid, 5000 AS gid, CONCAT('*:bytes=', quota) AS quota_rule " +
        "FROM mailbox WHERE username = '%u' AND active = '1'",
    },
    (db) => new PostfixAdminAdmin(db),
  ),
});

export interface CompiledQueries {
  readonly domain: CompiledQuery;
  readonly mailbox: CompiledQuery;
  readonly alias: readonly CompiledQuery[];
  readonly aliasDomain: CompiledQuery | null;
  readonly password: CompiledQuery;
  readonly user: CompiledQuery | null;
}

const REQUIRED_FOR_CUSTOM = ['domain', 'mailbox', 'alias', 'password'] as const;

function aliasList(value: string | readonly string[] | undefined): readonly string[] | undefined {
  return typeof value === 'string' ? [value] : value;
}

/**
 * The preset's queries with the operator's overrides, compiled. An optional query (user,
 * alias_domain) overridden with '' is switched off. Throws ConfigError naming the key.
 */
export function resolveQueries(preset: PresetName | 'custom', overrides: MysqlQueries): CompiledQueries {
  const base: Partial<PresetQueries> = preset === 'custom' ? {} : PRESETS[preset].queries;
  const pick = <K extends keyof MysqlQueries>(key: K) => (overrides[key] !== undefined ? overrides[key] : base[key]);
  if (preset === 'custom') {
    const missing = REQUIRED_FOR_CUSTOM.filter((key) => overrides[key] === undefined);
    if (missing.length > 0) {
      throw new ConfigError(
        `mysql.queries.${missing[0]} is required with preset = "custom" (missing: ${missing.join(', ')})`,
      );
    }
  }
  const aliases = aliasList(pick('alias')) ?? [];
  if (aliases.length === 0) throw new ConfigError('mysql.queries.alias needs at least one query');
  const optional = (key: 'alias_domain' | 'user', dialect: 'postfix' | 'dovecot'): CompiledQuery | null => {
    const query = pick(key);
    return query === undefined || query.trim() === '' ? null : compileQuery(`mysql.queries.${key}`, query, dialect);
  };
  return Object.freeze({
    domain: compileQuery('mysql.queries.domain', String(pick('domain') ?? ''), 'postfix'),
    mailbox: compileQuery('mysql.queries.mailbox', String(pick('mailbox') ?? ''), 'postfix'),
    alias: aliases.map((query, i) =>
      compileQuery(aliases.length > 1 ? `mysql.queries.alias[${i}]` : 'mysql.queries.alias', query, 'postfix'),
    ),
    aliasDomain: optional('alias_domain', 'postfix'),
    password: compileQuery('mysql.queries.password', String(pick('password') ?? ''), 'dovecot'),
    user: optional('user', 'dovecot'),
  });
}
