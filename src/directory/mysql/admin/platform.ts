/**
 * Writes to the hosting platform's schema (test/fixtures/schemas/platform.sql): mailboxes and domains
 * are soft-deleted through `deleted_at`, aliases are switched off through `is_active`, quota is
 * `storage_quota` in MiB, passwords are bare SHA512-CRYPT strings (default_pass_scheme).
 * `email` and `domain_name` are UNIQUE, so adding a soft-deleted one again revives its row.
 */
import { InvalidInput } from '../../../core/errors.js';
import type { AliasEntry } from '../../types.js';
import type { Db } from '../pool.js';
import {
  MIB,
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

const LIVE_DOMAIN_ID = 'SELECT id FROM mail_domains WHERE domain_name = ? AND deleted_at IS NULL';

export class PlatformAdmin implements SchemaAdmin {
  constructor(private readonly db: Db) {}

  async listUsers(): Promise<string[]> {
    const rows = await this.db.rows(
      'platform: list users',
      'SELECT email FROM mail_mailboxes WHERE deleted_at IS NULL ORDER BY email',
      [],
    );
    return texts(rows, 'email');
  }

  async addUser(user: NewMailbox): Promise<void> {
    const quotaMiB = user.quotaBytes === null ? null : Math.ceil(user.quotaBytes / MIB);
    const password = withoutDefaultScheme(user.password, 'SHA512-CRYPT');
    await this.db.transaction('platform: add user', async (tx) => {
      const domain = await domainId(tx, 'platform: domain id', LIVE_DOMAIN_ID, user.domain);
      const existing = await tx.rows(
        'platform: find mailbox',
        'SELECT id, deleted_at FROM mail_mailboxes WHERE email = ? FOR UPDATE',
        [user.address],
      );
      const row = existing[0];
      if (row === undefined) {
        await tx.exec(
          'platform: insert mailbox',
          `INSERT INTO mail_mailboxes (domain_id, email, password_hash, storage_quota, is_active)
           VALUES (?, ?, ?, COALESCE(?, DEFAULT(storage_quota)), 1)`,
          [domain, user.address, password, quotaMiB],
        );
        return;
      }
      if (row['deleted_at'] === null) throw new InvalidInput(`user ${user.address} already exists`);
      await tx.exec(
        'platform: revive mailbox',
        `UPDATE mail_mailboxes SET domain_id = ?, password_hash = ?,
           storage_quota = COALESCE(?, DEFAULT(storage_quota)), is_active = 1, deleted_at = NULL
         WHERE id = ?`,
        [domain, password, quotaMiB, row['id']],
      );
    });
  }

  async deleteUser(address: string): Promise<void> {
    const result = await this.db.exec(
      'platform: delete mailbox',
      'UPDATE mail_mailboxes SET deleted_at = NOW() WHERE email = ? AND deleted_at IS NULL',
      [address],
    );
    requireChanged(result.affectedRows, `user ${address}`);
  }

  async setPassword(address: string, password: string): Promise<void> {
    const result = await this.db.exec(
      'platform: set password',
      'UPDATE mail_mailboxes SET password_hash = ? WHERE email = ? AND deleted_at IS NULL',
      [withoutDefaultScheme(password, 'SHA512-CRYPT'), address],
    );
    requireChanged(result.affectedRows, `user ${address}`);
  }

  async listDomains(): Promise<string[]> {
    const rows = await this.db.rows(
      'platform: list domains',
      'SELECT domain_name FROM mail_domains WHERE deleted_at IS NULL ORDER BY domain_name',
      [],
    );
    return texts(rows, 'domain_name');
  }

  async addDomain(domain: string): Promise<void> {
    // An operator adding a domain through tsmail vouches for it, so it is stored as verified
    // (the lookup query ignores unverified domains).
    await this.db.transaction('platform: add domain', async (tx) => {
      const rows = await tx.rows(
        'platform: find domain',
        'SELECT id, deleted_at FROM mail_domains WHERE domain_name = ? FOR UPDATE',
        [domain],
      );
      const row = rows[0];
      if (row === undefined) {
        await tx.exec('platform: insert domain', 'INSERT INTO mail_domains (domain_name, is_verified) VALUES (?, 1)', [
          domain,
        ]);
        return;
      }
      if (row['deleted_at'] === null) throw new InvalidInput(`domain ${domain} already exists`);
      await tx.exec(
        'platform: revive domain',
        'UPDATE mail_domains SET deleted_at = NULL, is_verified = 1 WHERE id = ?',
        [row['id']],
      );
    });
  }

  async deleteDomain(domain: string): Promise<void> {
    await this.db.transaction('platform: delete domain', async (tx) => {
      const id = await domainId(tx, 'platform: domain id', `${LIVE_DOMAIN_ID} FOR UPDATE`, domain);
      const mailboxes = await count(
        tx,
        'platform: count mailboxes',
        'SELECT COUNT(*) AS n FROM mail_mailboxes WHERE domain_id = ? AND deleted_at IS NULL',
        [id],
      );
      const aliases = await count(
        tx,
        'platform: count aliases',
        'SELECT COUNT(*) AS n FROM mail_aliases WHERE domain_id = ? AND is_active = 1',
        [id],
      );
      refuseNonEmptyDomain(domain, mailboxes, aliases);
      await tx.exec('platform: delete domain', 'UPDATE mail_domains SET deleted_at = NOW() WHERE id = ?', [id]);
    });
  }

  async listAliases(): Promise<AliasEntry[]> {
    const rows = await this.db.rows(
      'platform: list aliases',
      'SELECT alias_email, destination_email FROM mail_aliases WHERE is_active = 1 ORDER BY alias_email, id',
      [],
    );
    return groupAliases(rows.map((row) => [text(row, 'alias_email'), text(row, 'destination_email')] as const));
  }

  async addAlias(source: AliasKey, destination: string): Promise<void> {
    await this.db.transaction('platform: add alias', async (tx) => {
      const domain = await domainId(tx, 'platform: domain id', LIVE_DOMAIN_ID, source.domain);
      const rows = await tx.rows(
        'platform: find alias',
        'SELECT id, is_active FROM mail_aliases WHERE alias_email = ? AND destination_email = ? FOR UPDATE',
        [source.key, destination],
      );
      const active = rows.find((row) => Number(row['is_active']) === 1);
      if (active) throw new InvalidInput(`alias ${source.key} → ${destination} already exists`);
      if (rows[0]) {
        await tx.exec('platform: reactivate alias', 'UPDATE mail_aliases SET is_active = 1 WHERE id = ?', [rows[0]['id']]);
        return;
      }
      await tx.exec(
        'platform: insert alias',
        'INSERT INTO mail_aliases (domain_id, alias_email, destination_email, is_active) VALUES (?, ?, ?, 1)',
        [domain, source.key, destination],
      );
    });
  }

  async deleteAlias(source: string, destination?: string): Promise<void> {
    const result =
      destination === undefined
        ? await this.db.exec(
            'platform: delete alias',
            'UPDATE mail_aliases SET is_active = 0 WHERE alias_email = ? AND is_active = 1',
            [source],
          )
        : await this.db.exec(
            'platform: delete alias',
            'UPDATE mail_aliases SET is_active = 0 WHERE alias_email = ? AND destination_email = ? AND is_active = 1',
            [source, destination],
          );
    requireChanged(result.affectedRows, destination === undefined ? `alias ${source}` : `alias ${source} → ${destination}`);
  }
}
