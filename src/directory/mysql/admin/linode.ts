/**
 * Writes to the Linode guide's schema (test/fixtures/schemas/linode.sql): rows are deleted for real,
 * users and aliases point at their domain through `domain_id`, passwords are bare SHA512-CRYPT
 * strings in a 106-character column, and there is no quota column.
 */
import { InvalidInput, Unsupported } from '../../../core/errors.js';
import type { AliasEntry } from '../../types.js';
import type { Db } from '../pool.js';
import {
  count,
  domainId,
  groupAliases,
  refuseNonEmptyDomain,
  requireChanged,
  text,
  texts,
  withoutDefaultScheme,
} from './common.js';
import type { AliasKey, NewMailbox, SchemaAdmin } from './types.js';

const DOMAIN_ID = 'SELECT id FROM virtual_domains WHERE name = ?';

export class LinodeAdmin implements SchemaAdmin {
  constructor(private readonly db: Db) {}

  async listUsers(): Promise<string[]> {
    return texts(await this.db.rows('linode: list users', 'SELECT email FROM virtual_users ORDER BY email', []), 'email');
  }

  async addUser(user: NewMailbox): Promise<void> {
    if (user.quotaBytes !== null) throw new Unsupported('the linode schema has no quota column; omit the quota');
    await this.db.transaction('linode: add user', async (tx) => {
      const domain = await domainId(tx, 'linode: domain id', DOMAIN_ID, user.domain);
      const existing = await tx.rows('linode: find user', 'SELECT id FROM virtual_users WHERE email = ? FOR UPDATE', [
        user.address,
      ]);
      if (existing.length > 0) throw new InvalidInput(`user ${user.address} already exists`);
      await tx.exec('linode: insert user', 'INSERT INTO virtual_users (domain_id, password, email) VALUES (?, ?, ?)', [
        domain,
        withoutDefaultScheme(user.password, 'SHA512-CRYPT'),
        user.address,
      ]);
    });
  }

  async deleteUser(address: string): Promise<void> {
    const result = await this.db.exec('linode: delete user', 'DELETE FROM virtual_users WHERE email = ?', [address]);
    requireChanged(result.affectedRows, `user ${address}`);
  }

  async setPassword(address: string, password: string): Promise<void> {
    const result = await this.db.exec('linode: set password', 'UPDATE virtual_users SET password = ? WHERE email = ?', [
      withoutDefaultScheme(password, 'SHA512-CRYPT'),
      address,
    ]);
    requireChanged(result.affectedRows, `user ${address}`);
  }

  async listDomains(): Promise<string[]> {
    return texts(await this.db.rows('linode: list domains', 'SELECT name FROM virtual_domains ORDER BY name', []), 'name');
  }

  async addDomain(domain: string): Promise<void> {
    // `name` has no UNIQUE key, so the check and the insert share one locking transaction.
    await this.db.transaction('linode: add domain', async (tx) => {
      const rows = await tx.rows('linode: find domain', `${DOMAIN_ID} FOR UPDATE`, [domain]);
      if (rows.length > 0) throw new InvalidInput(`domain ${domain} already exists`);
      await tx.exec('linode: insert domain', 'INSERT INTO virtual_domains (name) VALUES (?)', [domain]);
    });
  }

  async deleteDomain(domain: string): Promise<void> {
    // ON DELETE CASCADE would silently take every user and alias of the domain with it.
    await this.db.transaction('linode: delete domain', async (tx) => {
      const id = await domainId(tx, 'linode: domain id', `${DOMAIN_ID} FOR UPDATE`, domain);
      refuseNonEmptyDomain(
        domain,
        await count(tx, 'linode: count users', 'SELECT COUNT(*) AS n FROM virtual_users WHERE domain_id = ?', [id]),
        await count(tx, 'linode: count aliases', 'SELECT COUNT(*) AS n FROM virtual_aliases WHERE domain_id = ?', [id]),
      );
      await tx.exec('linode: delete domain', 'DELETE FROM virtual_domains WHERE id = ?', [id]);
    });
  }

  async listAliases(): Promise<AliasEntry[]> {
    const rows = await this.db.rows(
      'linode: list aliases',
      'SELECT source, destination FROM virtual_aliases ORDER BY source, id',
      [],
    );
    return groupAliases(rows.map((row) => [text(row, 'source'), text(row, 'destination')] as const));
  }

  async addAlias(source: AliasKey, destination: string): Promise<void> {
    await this.db.transaction('linode: add alias', async (tx) => {
      const domain = await domainId(tx, 'linode: domain id', DOMAIN_ID, source.domain);
      const rows = await tx.rows(
        'linode: find alias',
        'SELECT id FROM virtual_aliases WHERE source = ? AND destination = ? FOR UPDATE',
        [source.key, destination],
      );
      if (rows.length > 0) throw new InvalidInput(`alias ${source.key} → ${destination} already exists`);
      await tx.exec(
        'linode: insert alias',
        'INSERT INTO virtual_aliases (domain_id, source, destination) VALUES (?, ?, ?)',
        [domain, source.key, destination],
      );
    });
  }

  async deleteAlias(source: string, destination?: string): Promise<void> {
    const result =
      destination === undefined
        ? await this.db.exec('linode: delete alias', 'DELETE FROM virtual_aliases WHERE source = ?', [source])
        : await this.db.exec('linode: delete alias', 'DELETE FROM virtual_aliases WHERE source = ? AND destination = ?', [
            source,
            destination,
          ]);
    requireChanged(result.affectedRows, destination === undefined ? `alias ${source}` : `alias ${source} → ${destination}`);
  }
}
