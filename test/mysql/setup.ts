/** Shared pieces of the MySQL integration tests: fixture paths and backend options. */
import path from 'node:path';
import type { MysqlOptions, MysqlQueries, PresetName } from '../../src/directory/mysql/options.js';
import type { MariaDb } from '../helpers/mariadb.js';
import { fixturesDir } from '../helpers/tmp.js';

export const SCHEMA_NAMES: readonly PresetName[] = ['platform', 'linode', 'isdel', 'postfixadmin'];

/** A live mailbox of each fixture schema (test/fixtures/schemas/*.sql), for near-miss inputs. */
export const SAMPLE_MAILBOX: Readonly<Record<PresetName, string>> = {
  platform: 'ines@shop.example',
  linode: 'paula@lakeside.example',
  isdel: 'vera@orchard.example',
  postfixadmin: 'nora@meadow.example',
};

export function schemaFile(name: PresetName): string {
  return path.join(fixturesDir, 'schemas', `${name}.sql`);
}

/** Creates `database` and loads the fixture schema of `schema` into it. */
export async function loadSchema(server: MariaDb, schema: PresetName, database: string): Promise<void> {
  await server.createDatabase(database);
  await server.loadSql(schemaFile(schema), database);
}

export function options(
  server: MariaDb,
  database: string,
  preset: MysqlOptions['preset'],
  queries: MysqlQueries = {},
  extra: Partial<MysqlOptions> = {},
): MysqlOptions {
  return {
    socket: server.socket,
    host: '',
    port: 0,
    user: server.user,
    password: server.password,
    database,
    preset,
    queries,
    connectTimeoutMs: 2_000,
    queryTimeoutMs: 5_000,
    poolSize: 4,
    ...extra,
  };
}

/**
 * SQL metacharacters and oddities that must reach the server only as parameter values, built
 * around `address`, a mailbox that exists: an injection that worked would find it.
 */
export function hostileInputs(address: string): string[] {
  const domain = address.slice(address.indexOf('@') + 1);
  return [
    "' OR 1=1 --",
    "' OR '1'='1",
    `${address}' -- `,
    `${address}' #`,
    `${address}" OR ""="`,
    "x' UNION SELECT password_hash FROM mail_mailboxes -- ",
    "'; DROP TABLE mail_mailboxes; --",
    '\\',
    "\\'",
    `${address}\\' OR 1=1 -- `,
    '%',
    `%@${domain}`,
    `_${address.slice(1)}`,
    '%s',
    `${address}\u0000`,
    '\u0000',
    '@',
    '',
    `${address}\u0000' OR 1=1 -- `,
    '`',
    '/*',
    '?',
    `x😀@${domain}`,
  ];
}
