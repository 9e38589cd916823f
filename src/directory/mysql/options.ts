/** The `[directory.mysql]` settings the MySQL backend needs (validated by config/schema.ts). */

export type PresetName = 'platform' | 'linode' | 'isdel' | 'postfixadmin';

export interface MysqlQueries {
  /** Postfix virtual_mailbox_domains query (`%s %u %d`). */
  domain?: string;
  /** Postfix virtual_mailbox_maps query. */
  mailbox?: string;
  /** Postfix virtual_alias_maps queries; every one is asked and the results are joined. */
  alias?: string | string[];
  /** Returns the target domain of an alias domain (PostfixAdmin `alias_domain`). */
  alias_domain?: string;
  /** Dovecot password_query (`%u %n %d`); columns `user`, `password`, optional `userdb_*`. */
  password?: string;
  /** Dovecot user_query; columns `user`, `mail`, `home`, `uid`, `gid`, `quota_rule`, ... */
  user?: string;
}

export interface MysqlOptions {
  /** Unix socket path; '' → use host and port. */
  socket: string;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  preset: PresetName | 'custom';
  /** Override the preset's queries; with 'custom', domain/mailbox/alias/password are required. */
  queries: MysqlQueries;
  /** Bound on establishing a connection (default 5000). */
  connectTimeoutMs?: number;
  /** Bound on one statement once sent (default 10000). */
  queryTimeoutMs?: number;
  /** Connections in the pool (default 10). */
  poolSize?: number;
}

export const MYSQL_DEFAULTS = Object.freeze({
  connectTimeoutMs: 5_000,
  queryTimeoutMs: 10_000,
  poolSize: 10,
});
