/**
 * Writes to the isDel schema (test/fixtures/schemas/isdel.sql): nothing is deleted, rows are marked
 * `isDel = 'Y'` and a later add of the same name revives the marked row (`usrEmail` is UNIQUE).
 * Every alias row names a local user in `usrIdx` (NOT NULL, foreign key), so alias destinations
 * must be mailboxes of this schema. Passwords keep their `{SCHEME}` prefix, as the seed's rows
 * mix SHA512-CRYPT and SHA512. There is no quota column.
 */
import { InvalidInput, NotFound, Unsupported } from '../../../core/errors.js';
import type { AliasEntry } from '../../types.js';
import type { Db } from '../pool.js';
import { count, domainId, groupAliases, refuseNonEmptyDomain, requireChanged, text, texts } from './common.js';
import type { AliasKey, NewMailbox, SchemaAdmin } from './types.js';

const LIVE_DOMAIN_ID = "SELECT idx AS id FROM virtual_domains WHERE domain = ? AND isDel = 'N'";

export class IsDelAdmin implements SchemaAdmin {
  constructor(private readonly db: Db) {}

  async listUsers(): Promise<string[]> {
    const rows = await this.db.rows(
      'isdel: list users',
      "SELECT usrEmail FROM virtual_users WHERE isDel = 'N' ORDER BY usrEmail",
      [],
    );
    return texts(rows, 'usrEmail');
  }

  async addUser(user: NewMailbox): Promise<void> {
    if (user.quotaBytes !== null) throw new Unsupported('the isdel schema has no quota column; omit the quota');
    await this.db.transaction('isdel: add user', async (tx) => {
      const domain = await domainId(tx, 'isdel: domain id', LIVE_DOMAIN_ID, user.domain);
      const rows = await tx.rows('isdel: find user', 'SELECT idx, isDel FROM virtual_users WHERE usrEmail = ? FOR UPDATE', [
        user.address,
      ]);
      const row = rows[0];
      if (row === undefined) {
        await tx.exec('isdel: insert user', 'INSERT INTO virtual_users (domainIdx, usrEmail, passwd) VALUES (?, ?, ?)', [
          domain,
          user.address,
          user.password,
        ]);
        return;
      }
      if (text(row, 'isDel') === 'N') throw new InvalidInput(`user ${user.address} already exists`);
      await tx.exec(
        'isdel: revive user',
        "UPDATE virtual_users SET domainIdx = ?, passwd = ?, isDel = 'N' WHERE idx = ?",
        [domain, user.password, row['idx']],
      );
    });
  }

  async deleteUser(address: string): Promise<void> {
    const result = await this.db.exec(
      'isdel: delete user',
      "UPDATE virtual_users SET isDel = 'Y' WHERE usrEmail = ? AND isDel = 'N'",
      [address],
    );
    requireChanged(result.affectedRows, `user ${address}`);
  }

  async setPassword(address: string, password: string): Promise<void> {
    const result = await this.db.exec(
      'isdel: set password',
      "UPDATE virtual_users SET passwd = ? WHERE usrEmail = ? AND isDel = 'N'",
      [password, address],
    );
    requireChanged(result.affectedRows, `user ${address}`);
  }

  async listDomains(): Promise<string[]> {
    const rows = await this.db.rows(
      'isdel: list domains',
      "SELECT DISTINCT domain FROM virtual_domains WHERE isDel = 'N' ORDER BY domain",
      [],
    );
    return texts(rows, 'domain');
  }

  async addDomain(domain: string): Promise<void> {
    await this.db.transaction('isdel: add domain', async (tx) => {
      const rows = await tx.rows(
        'isdel: find domain',
        'SELECT idx, isDel FROM virtual_domains WHERE domain = ? ORDER BY idx FOR UPDATE',
        [domain],
      );
      if (rows.some((row) => text(row, 'isDel') === 'N')) throw new InvalidInput(`domain ${domain} already exists`);
      if (rows[0]) {
        await tx.exec('isdel: revive domain', "UPDATE virtual_domains SET isDel = 'N' WHERE idx = ?", [rows[0]['idx']]);
        return;
      }
      await tx.exec('isdel: insert domain', 'INSERT INTO virtual_domains (domain) VALUES (?)', [domain]);
    });
  }

  async deleteDomain(domain: string): Promise<void> {
    await this.db.transaction('isdel: delete domain', async (tx) => {
      const id = await domainId(tx, 'isdel: domain id', `${LIVE_DOMAIN_ID} FOR UPDATE`, domain);
      const users = await count(
        tx,
        'isdel: count users',
        "SELECT COUNT(*) AS n FROM virtual_users WHERE domainIdx = ? AND isDel = 'N'",
        [id],
      );
      const aliases = await count(
        tx,
        'isdel: count aliases',
        "SELECT COUNT(*) AS n FROM virtual_aliases WHERE domainIdx = ? AND isDel = 'N'",
        [id],
      );
      refuseNonEmptyDomain(domain, users, aliases);
      await tx.exec('isdel: delete domain', "UPDATE virtual_domains SET isDel = 'Y' WHERE idx = ?", [id]);
    });
  }

  async listAliases(): Promise<AliasEntry[]> {
    const rows = await this.db.rows(
      'isdel: list aliases',
      "SELECT source, destination FROM virtual_aliases WHERE isDel = 'N' ORDER BY source, idx",
      [],
    );
    return groupAliases(rows.map((row) => [text(row, 'source'), text(row, 'destination')] as const));
  }

  async addAlias(source: AliasKey, destination: string): Promise<void> {
    await this.db.transaction('isdel: add alias', async (tx) => {
      const domain = await domainId(tx, 'isdel: domain id', LIVE_DOMAIN_ID, source.domain);
      const users = await tx.rows(
        'isdel: destination user',
        "SELECT idx FROM virtual_users WHERE usrEmail = ? AND isDel = 'N'",
        [destination],
      );
      if (users[0] === undefined) {
        throw new NotFound(`${destination} is not a mailbox here; the isdel schema links every alias to a local user`);
      }
      const rows = await tx.rows(
        'isdel: find alias',
        'SELECT idx, isDel FROM virtual_aliases WHERE source = ? AND destination = ? ORDER BY idx FOR UPDATE',
        [source.key, destination],
      );
      if (rows.some((row) => text(row, 'isDel') === 'N')) {
        throw new InvalidInput(`alias ${source.key} → ${destination} already exists`);
      }
      if (rows[0]) {
        await tx.exec(
          'isdel: revive alias',
          "UPDATE virtual_aliases SET isDel = 'N', domainIdx = ?, usrIdx = ? WHERE idx = ?",
          [domain, users[0]['idx'], rows[0]['idx']],
        );
        return;
      }
      await tx.exec(
        'isdel: insert alias',
        'INSERT INTO virtual_aliases (domainIdx, usrIdx, source, destination) VALUES (?, ?, ?, ?)',
        [domain, users[0]['idx'], source.key, destination],
      );
    });
  }

  async deleteAlias(source: string, destination?: string): Promise<void> {
    const result =
      destination === undefined
        ? await this.db.exec(
            'isdel: delete alias',
            "UPDATE virtual_aliases SET isDel = 'Y' WHERE source = ? AND isDel = 'N'",
            [source],
          )
        : await this.db.exec(
            'isdel: delete alias',
            "UPDATE virtual_aliases SET isDel = 'Y' WHERE source = ? AND destination = ? AND isDel = 'N'",
            [source, destination],
          );
    requireChanged(result.affectedRows, destination === undefined ? `alias ${source}` : `alias ${source} → ${destination}`);
  }
}
