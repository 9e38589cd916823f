/**
 * Reads Dovecot passdb/userdb rows the way Dovecot's SQL driver does ("Password Databases: SQL",
 * "User Databases: SQL", "Prefetch"): columns are fields by name, case-insensitively; a NULL
 * column is an absent field; in a password_query, `password` is the stored password, `user` may
 * change the user name, and `userdb_<field>` columns carry userdb fields (prefetch style);
 * a user_query's columns are userdb fields directly and win over prefetched ones.
 * Quota rules come from `quota_rule`, `quota_rule2`, `quota_rule3`, ... (Dovecot quota docs).
 */
import type { UserEntry } from '../types.js';
import type { Row } from './pool.js';

/** A column value as text; null for SQL NULL. */
export function columnText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

function lowerKeys(row: Row): Map<string, string> {
  const fields = new Map<string, string>();
  for (const [key, value] of Object.entries(row)) {
    const text = columnText(value);
    if (text !== null) fields.set(key.toLowerCase(), text);
  }
  return fields;
}

function idValue(text: string | undefined): number | string | undefined {
  if (text === undefined || text === '') return undefined;
  return /^\d+$/.test(text) ? Number(text) : text;
}

function quotaRules(userdb: ReadonlyMap<string, string>): string[] {
  const numbered: Array<[number, string]> = [];
  for (const [key, value] of userdb) {
    const match = /^quota_rule(\d*)$/.exec(key);
    if (match && value.trim() !== '') numbered.push([match[1] ? Number(match[1]) : 1, value.trim()]);
  }
  return numbered.sort((a, b) => a[0] - b[0]).map(([, rule]) => rule);
}

/**
 * Merges the password_query row and the user_query row (when there is a user_query) for the
 * login name `requested`.
 */
export function userEntryFromRows(requested: string, passRow: Row, userRow?: Row): UserEntry {
  const passdb = lowerKeys(passRow);
  const userdb = new Map<string, string>();
  for (const [key, value] of passdb) {
    if (key.startsWith('userdb_') && key.length > 'userdb_'.length) userdb.set(key.slice('userdb_'.length), value);
  }
  if (userRow) for (const [key, value] of lowerKeys(userRow)) userdb.set(key, value);

  const entry: UserEntry = {
    user: userdb.get('user') || passdb.get('user') || requested,
    password: passdb.get('password') ?? null,
  };
  const mail = userdb.get('mail');
  if (mail) entry.mail = mail;
  const home = userdb.get('home');
  if (home) entry.home = home;
  const uid = idValue(userdb.get('uid'));
  if (uid !== undefined) entry.uid = uid;
  const gid = idValue(userdb.get('gid'));
  if (gid !== undefined) entry.gid = gid;
  const rules = quotaRules(userdb);
  if (rules.length > 0) entry.quotaRules = rules;
  return entry;
}
