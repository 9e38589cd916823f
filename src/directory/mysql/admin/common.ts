/** Small helpers shared by the preset schema writers. */
import { InvalidInput, NotFound } from '../../../core/errors.js';
import type { AliasEntry } from '../../types.js';
import type { Row, Sql } from '../pool.js';
import { columnText } from '../userdb-fields.js';

export const MIB = 1024 * 1024;

export function text(row: Row | undefined, column: string): string {
  return columnText(row?.[column]) ?? '';
}

export function texts(rows: readonly Row[], column: string): string[] {
  return rows.map((row) => text(row, column));
}

export async function count(sql: Sql, label: string, query: string, params: readonly unknown[]): Promise<number> {
  const rows = await sql.rows(label, query, params);
  return Number(rows[0]?.['n'] ?? 0);
}

/** The id of a live domain row; NotFound when the domain is not there. */
export async function domainId(sql: Sql, label: string, query: string, domain: string): Promise<number> {
  const rows = await sql.rows(label, query, [domain]);
  const id = rows[0]?.['id'];
  if (id === undefined || id === null) throw new NotFound(`domain ${domain} does not exist; add it first`);
  return Number(id);
}

/** Refuses to remove a domain that still has mailboxes or aliases (they would be orphaned or cascade away). */
export function refuseNonEmptyDomain(domain: string, mailboxes: number, aliases: number): void {
  if (mailboxes > 0 || aliases > 0) {
    throw new InvalidInput(
      `domain ${domain} still has ${mailboxes} mailbox(es) and ${aliases} alias(es); delete them first`,
    );
  }
}

export function requireChanged(affectedRows: number, what: string): void {
  if (affectedRows === 0) throw new NotFound(`${what} does not exist`);
}

/** Groups (source, destination) rows, keeping the order of first appearance. */
export function groupAliases(pairs: ReadonlyArray<readonly [string, string]>): AliasEntry[] {
  const bySource = new Map<string, string[]>();
  for (const [source, destination] of pairs) {
    const list = bySource.get(source) ?? [];
    if (!list.includes(destination)) list.push(destination);
    bySource.set(source, list);
  }
  return [...bySource].map(([source, destinations]) => ({ source, destinations }));
}

/**
 * Schemas whose Dovecot setup has `default_pass_scheme = SHA512-CRYPT` store bare crypt strings
 * (linode's column is 106 characters, exactly a SHA512-CRYPT hash); keep new rows in that form.
 */
export function withoutDefaultScheme(hash: string, defaultScheme: string): string {
  const prefix = `{${defaultScheme}}`;
  return hash.toUpperCase().startsWith(prefix) ? hash.slice(prefix.length) : hash;
}
