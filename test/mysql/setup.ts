/** Shared pieces of the MySQL integration tests: fixture paths and backend options. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MysqlOptions, MysqlQueries, PresetName } from '../../src/directory/mysql/options.js';
import type { MariaDb } from '../helpers/mariadb.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const SCHEMA_NAMES: readonly PresetName[] = ['platform', 'linode', 'isdel', 'postfixadmin'];

export function schemaFile(name: PresetName): string {
  return path.resolve(repoRoot, `../shared/fixtures/schemas/${name}.sql`);
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

/** SQL metacharacters and oddities that must reach the server only as parameter values. */
export const HOSTILE_INPUTS: readonly string[] = [
  "' OR 1=1 --",
  "' OR '1'='1",
  "alice@example.com' -- ",
  "alice@example.com' #",
  'alice@example.com" OR ""="',
  "x' UNION SELECT password_hash FROM mail_mailboxes -- ",
  "'; DROP TABLE mail_mailboxes; --",
  '\\',
  "\\'",
  "alice@example.com\\' OR 1=1 -- ",
  '%',
  '%@example.com',
  '_lice@example.com',
  '%s',
  'alice@example.com\u0000',
  '\u0000',
  '@',
  '',
  'alice@example.com\u0000\' OR 1=1 -- ',
  '`',
  '/*',
  '?',
  'x😀@example.com',
];
