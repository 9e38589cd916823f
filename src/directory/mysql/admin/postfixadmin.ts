/**
 * Writes to PostfixAdmin's schema (test/fixtures/schemas/postfixadmin.sql) the way PostfixAdmin does:
 * a mailbox row carries `local_part`, `domain` and `maildir` in `example.net/carol/` form, quota
 * in bytes (0 = unlimited), and comes with an alias row for its own address (`goto` = itself),
 * which the alias-domain map relies on. `alias.goto` is a comma-separated list, one row per
 * address. Rows are deleted for real. Passwords keep their `{SCHEME}` prefix.
 */
import { InvalidInput, NotFound } from '../../../core/errors.js';
import type { AliasEntry } from '../../types.js';
import { splitAddressList } from '../map-values.js';
import type { Db, Sql } from '../pool.js';
import { count, refuseNonEmptyDomain, requireChanged, text, texts } from './common.js';
import type { AliasKey, NewMailbox, SchemaAdmin } from './types.js';

async function requireDomain(tx: Sql, domain: string, lock: boolean): Promise<void> {
  const rows = await tx.rows('postfixadmin: find domain', `SELECT domain FROM domain WHERE domain = ?${lock ? ' FOR UPDATE' : ''}`, [
    domain,
  ]);
  if (rows.length === 0) throw new NotFound(`domain ${domain} does not exist; add it first`);
}

async function isMailbox(tx: Sql, address: string): Promise<boolean> {
  const rows = await tx.rows('postfixadmin: find mailbox', 'SELECT username FROM mailbox WHERE username = ?', [address]);
  return rows.length > 0;
}

async function setGoto(tx: Sql, address: string, destinations: readonly string[]): Promise<void> {
  await tx.exec('postfixadmin: update alias', 'UPDATE alias SET goto = ?, modified = NOW() WHERE address = ?', [
    destinations.join(','),
    address,
  ]);
}

export class PostfixAdminAdmin implements SchemaAdmin {
  constructor(private readonly db: Db) {}

  async listUsers(): Promise<string[]> {
    return texts(await this.db.rows('postfixadmin: list users', 'SELECT username FROM mailbox ORDER BY username', []), 'username');
  }

  async addUser(user: NewMailbox): Promise<void> {
    await this.db.transaction('postfixadmin: add user', async (tx) => {
      await requireDomain(tx, user.domain, false);
      const taken = await tx.rows(
        'postfixadmin: address taken',
        'SELECT username FROM mailbox WHERE username = ? UNION ALL SELECT address FROM alias WHERE address = ?',
        [user.address, user.address],
      );
      // PostfixAdmin refuses a mailbox whose address is already an alias, too.
      if (taken.length > 0) throw new InvalidInput(`${user.address} already exists as a mailbox or alias`);
      await tx.exec(
        'postfixadmin: insert mailbox',
        `INSERT INTO mailbox (username, password, name, maildir, quota, local_part, domain, active)
         VALUES (?, ?, '', ?, ?, ?, ?, 1)`,
        [user.address, user.password, `${user.domain}/${user.local}/`, user.quotaBytes ?? 0, user.local, user.domain],
      );
      await tx.exec('postfixadmin: insert self alias', 'INSERT INTO alias (address, goto, domain, active) VALUES (?, ?, ?, 1)', [
        user.address,
        user.address,
        user.domain,
      ]);
    });
  }

  async deleteUser(address: string): Promise<void> {
    await this.db.transaction('postfixadmin: delete user', async (tx) => {
      const result = await tx.exec('postfixadmin: delete mailbox', 'DELETE FROM mailbox WHERE username = ?', [address]);
      requireChanged(result.affectedRows, `user ${address}`);
      await tx.exec('postfixadmin: delete mailbox alias', 'DELETE FROM alias WHERE address = ?', [address]);
    });
  }

  async setPassword(address: string, password: string): Promise<void> {
    const result = await this.db.exec(
      'postfixadmin: set password',
      'UPDATE mailbox SET password = ?, modified = NOW() WHERE username = ?',
      [password, address],
    );
    requireChanged(result.affectedRows, `user ${address}`);
  }

  async listDomains(): Promise<string[]> {
    // 'ALL' is PostfixAdmin's marker row for superadmin rights, not a mail domain.
    const rows = await this.db.rows(
      'postfixadmin: list domains',
      "SELECT domain FROM domain WHERE domain <> 'ALL' ORDER BY domain",
      [],
    );
    return texts(rows, 'domain');
  }

  async addDomain(domain: string): Promise<void> {
    await this.db.transaction('postfixadmin: add domain', async (tx) => {
      const rows = await tx.rows('postfixadmin: find domain', 'SELECT domain FROM domain WHERE domain = ? FOR UPDATE', [domain]);
      if (rows.length > 0) throw new InvalidInput(`domain ${domain} already exists`);
      await tx.exec('postfixadmin: insert domain', 'INSERT INTO domain (domain) VALUES (?)', [domain]);
    });
  }

  async deleteDomain(domain: string): Promise<void> {
    await this.db.transaction('postfixadmin: delete domain', async (tx) => {
      await requireDomain(tx, domain, true);
      refuseNonEmptyDomain(
        domain,
        await count(tx, 'postfixadmin: count mailboxes', 'SELECT COUNT(*) AS n FROM mailbox WHERE domain = ?', [domain]),
        await count(tx, 'postfixadmin: count aliases', 'SELECT COUNT(*) AS n FROM alias WHERE domain = ?', [domain]),
      );
      await tx.exec(
        'postfixadmin: delete alias domains',
        'DELETE FROM alias_domain WHERE alias_domain = ? OR target_domain = ?',
        [domain, domain],
      );
      await tx.exec('postfixadmin: delete domain', 'DELETE FROM domain WHERE domain = ?', [domain]);
    });
  }

  async listAliases(): Promise<AliasEntry[]> {
    const rows = await this.db.rows(
      'postfixadmin: list aliases',
      'SELECT address, goto FROM alias WHERE active = 1 ORDER BY address',
      [],
    );
    return rows
      .map((row) => ({ source: text(row, 'address'), destinations: splitAddressList(text(row, 'goto')) }))
      .filter((entry) => !(entry.destinations.length === 1 && entry.destinations[0] === entry.source));
  }

  async addAlias(source: AliasKey, destination: string): Promise<void> {
    await this.db.transaction('postfixadmin: add alias', async (tx) => {
      await requireDomain(tx, source.domain, false);
      const rows = await tx.rows('postfixadmin: find alias', 'SELECT goto, active FROM alias WHERE address = ? FOR UPDATE', [
        source.key,
      ]);
      const row = rows[0];
      if (row === undefined) {
        await tx.exec('postfixadmin: insert alias', 'INSERT INTO alias (address, goto, domain, active) VALUES (?, ?, ?, 1)', [
          source.key,
          destination,
          source.domain,
        ]);
        return;
      }
      const destinations = splitAddressList(text(row, 'goto'));
      if (destinations.includes(destination)) throw new InvalidInput(`alias ${source.key} → ${destination} already exists`);
      if (Number(row['active']) !== 1) {
        throw new InvalidInput(`alias ${source.key} exists but is inactive; activate it in PostfixAdmin first`);
      }
      await setGoto(tx, source.key, [...destinations, destination]);
    });
  }

  async deleteAlias(source: string, destination?: string): Promise<void> {
    await this.db.transaction('postfixadmin: delete alias', async (tx) => {
      const rows = await tx.rows('postfixadmin: find alias', 'SELECT goto FROM alias WHERE address = ? FOR UPDATE', [source]);
      const current = rows[0] === undefined ? [] : splitAddressList(text(rows[0], 'goto'));
      const mailbox = await isMailbox(tx, source);
      // A mailbox's own alias row stays (alias domains need it); only its forwards go.
      const kept = destination === undefined ? [] : current.filter((d) => d !== destination);
      const next = kept.length === 0 && mailbox ? [source] : kept;
      const unchanged = next.length === current.length && next.every((d, i) => d === current[i]);
      if (rows[0] === undefined || unchanged) {
        const what = destination === undefined ? `alias ${source}` : `alias ${source} → ${destination}`;
        throw new NotFound(`${what} does not exist`);
      }
      if (next.length > 0) await setGoto(tx, source, next);
      else await tx.exec('postfixadmin: delete alias', 'DELETE FROM alias WHERE address = ?', [source]);
    });
  }
}
