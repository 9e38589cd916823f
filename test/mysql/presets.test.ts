/**
 * Every preset's lookups against its fixture schema in a private MariaDB: domains, mailboxes,
 * aliases, alias domains and users, including inactive and soft-deleted rows, and SQL
 * metacharacters in every lookup input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { MysqlBackend } from '../../src/directory/mysql/backend.js';
import type { PresetName } from '../../src/directory/mysql/options.js';
import { mariadbSkipReason, startMariaDb, type MariaDb } from '../helpers/mariadb.js';
import { HOSTILE_INPUTS, SCHEMA_NAMES, loadSchema, options } from './setup.js';

const ALICE_HASH = '$6$sdcbbba29dadb$8v4kUDpNbP5TdjI6RuJYSoALH6R8G58m7BBvic2oBk7hGgSc4xVL6ueCjpA9k.QFvhdEAh/L.Bu0V7lKn4ntA0';
const BOB_HASH = '$6$sfb2dc7f7429a$KQvTaPljGzuVWIdM8WUc7hjPQ1VUVwcs52e7ShAq8G36ACghVEf6oUHn9WK32hqZimSEhrS0aBiwUOfX3/DmG.';

// Rows the fixtures lack, so that every preset has inactive ones to ignore.
const EXTRA_ROWS: Partial<Record<PresetName, string>> = {
  postfixadmin: `
    INSERT INTO domain (domain, active) VALUES ('inactive.example', 0);
    INSERT INTO domain (domain, backupmx) VALUES ('backup.example', 1);
    INSERT INTO mailbox (username, password, maildir, local_part, domain, active)
      VALUES ('gone@example.net', '{PLAIN}x', 'example.net/gone/', 'gone', 'example.net', 0);
    INSERT INTO alias (address, goto, domain, active) VALUES ('old@example.net', 'carol@example.net', 'example.net', 0);
    INSERT INTO alias_domain (alias_domain, target_domain, active) VALUES ('old-alias.example', 'example.net', 0);`,
};

const skip = mariadbSkipReason();

describe.skipIf(skip !== null)('MySQL presets against the fixture schemas', () => {
  let server: MariaDb;
  const backends = new Map<PresetName, MysqlBackend>();
  const backend = (name: PresetName): MysqlBackend => backends.get(name)!;

  beforeAll(async () => {
    server = await startMariaDb();
    for (const name of SCHEMA_NAMES) {
      await loadSchema(server, name, `lookup_${name}`);
      const extra = EXTRA_ROWS[name];
      if (extra) await server.loadSql(extra, `lookup_${name}`);
      backends.set(name, new MysqlBackend(options(server, `lookup_${name}`, name), silentLogger));
    }
  });

  afterAll(async () => {
    for (const b of backends.values()) await b.close();
    await server?.destroy();
  });

  describe('platform', () => {
    it('local domains are verified and not deleted', async () => {
      expect(await backend('platform').isLocalDomain('example.com')).toBe(true);
      expect(await backend('platform').isLocalDomain('EXAMPLE.com')).toBe(true);
      expect(await backend('platform').isLocalDomain('unverified.example')).toBe(false);
      expect(await backend('platform').isLocalDomain('gone.example')).toBe(false);
      expect(await backend('platform').isLocalDomain('elsewhere.example')).toBe(false);
    });

    it('mailboxes are active and not deleted', async () => {
      expect(await backend('platform').mailboxExists('alice@example.com')).toBe(true);
      expect(await backend('platform').mailboxExists('bob@example.com')).toBe(true);
      expect(await backend('platform').mailboxExists('disabled@example.com')).toBe(false);
      expect(await backend('platform').mailboxExists('nobody@example.com')).toBe(false);
    });

    it('aliases: active ones, every destination', async () => {
      expect(await backend('platform').aliasTargets('postmaster@example.com')).toEqual(['alice@example.com']);
      expect((await backend('platform').aliasTargets('team@example.com')).sort()).toEqual(['alice@example.com', 'bob@example.com']);
      expect(await backend('platform').aliasTargets('old@example.com')).toEqual([]);
      expect(await backend('platform').aliasTargets('alice@example.com')).toEqual([]);
      expect(await backend('platform').aliasDomainTarget('example.com')).toBeNull();
    });

    it('findUser returns the stored hash and the MiB quota rule', async () => {
      expect(await backend('platform').findUser('alice@example.com')).toEqual({
        user: 'alice@example.com',
        password: ALICE_HASH,
        uid: 5000,
        gid: 5000,
        quotaRules: ['*:storage=1024M'],
      });
      const bob = await backend('platform').findUser('Bob@Example.com');
      expect(bob?.password).toBe(BOB_HASH);
      expect(bob?.quotaRules).toEqual(['*:storage=1M']);
      expect(bob?.mail).toBeUndefined();
      expect(await backend('platform').findUser('disabled@example.com')).toBeNull();
      expect(await backend('platform').findUser('nobody@example.com')).toBeNull();
    });
  });

  describe('linode', () => {
    it('local domains', async () => {
      for (const d of ['example.com', 'hostname.example.com', 'hostname', 'localhost.example.com']) {
        expect(await backend('linode').isLocalDomain(d)).toBe(true);
      }
      expect(await backend('linode').isLocalDomain('example.org')).toBe(false);
    });

    it('mailboxes', async () => {
      expect(await backend('linode').mailboxExists('email1@example.com')).toBe(true);
      expect(await backend('linode').mailboxExists('email3@example.com')).toBe(true);
      expect(await backend('linode').mailboxExists('alias@example.com')).toBe(false);
    });

    it('aliases, the catch-all key and the email2email self map', async () => {
      expect(await backend('linode').aliasTargets('alias@example.com')).toEqual(['email1@example.com']);
      expect(await backend('linode').aliasTargets('@hostname.example.com')).toEqual(['email2@example.com']);
      expect(await backend('linode').aliasTargets('email1@example.com')).toEqual(['email1@example.com']);
      expect(await backend('linode').aliasTargets('nobody@example.com')).toEqual([]);
    });

    it('findUser returns the bare crypt hash and no quota', async () => {
      expect(await backend('linode').findUser('email1@example.com')).toEqual({ user: 'email1@example.com', password: ALICE_HASH });
      expect((await backend('linode').findUser('email3@example.com'))?.password).toMatch(/^\$5\$abcdefgh\$/);
      expect(await backend('linode').findUser('email9@example.com')).toBeNull();
    });
  });

  describe('isdel', () => {
    it("honors isDel = 'N' for domains, mailboxes and aliases", async () => {
      expect(await backend('isdel').isLocalDomain('example.org')).toBe(true);
      expect(await backend('isdel').isLocalDomain('deleted.example')).toBe(false);
      expect(await backend('isdel').mailboxExists('alice@example.org')).toBe(true);
      expect(await backend('isdel').mailboxExists('erin@example.org')).toBe(true);
      expect(await backend('isdel').mailboxExists('left@example.org')).toBe(false);
      expect(await backend('isdel').aliasTargets('info@example.org')).toEqual(['alice@example.org']);
      expect(await backend('isdel').aliasTargets('sales@example.org')).toEqual([]);
    });

    it('findUser returns hashes with their scheme prefix; deleted users are unknown', async () => {
      expect((await backend('isdel').findUser('alice@example.org'))?.password).toBe(`{SHA512-CRYPT}${ALICE_HASH}`);
      expect((await backend('isdel').findUser('erin@example.org'))?.password).toMatch(/^\{SHA512\}Y3\+9ren0/);
      expect(await backend('isdel').findUser('left@example.org')).toBeNull();
    });
  });

  describe('postfixadmin', () => {
    it('local domains are active and not backup MX', async () => {
      expect(await backend('postfixadmin').isLocalDomain('example.net')).toBe(true);
      expect(await backend('postfixadmin').isLocalDomain('alias.example')).toBe(true);
      expect(await backend('postfixadmin').isLocalDomain('inactive.example')).toBe(false);
      expect(await backend('postfixadmin').isLocalDomain('backup.example')).toBe(false);
    });

    it('mailboxes are active', async () => {
      expect(await backend('postfixadmin').mailboxExists('carol@example.net')).toBe(true);
      expect(await backend('postfixadmin').mailboxExists('frank@example.net')).toBe(true);
      expect(await backend('postfixadmin').mailboxExists('gone@example.net')).toBe(false);
    });

    it('aliases: comma-separated goto, self aliases, inactive ones ignored', async () => {
      expect(await backend('postfixadmin').aliasTargets('both@example.net')).toEqual(['carol@example.net', 'frank@example.net']);
      expect(await backend('postfixadmin').aliasTargets('abuse@example.net')).toEqual(['carol@example.net']);
      expect(await backend('postfixadmin').aliasTargets('carol@example.net')).toEqual(['carol@example.net']);
      expect(await backend('postfixadmin').aliasTargets('old@example.net')).toEqual([]);
    });

    it('alias domains: target of an active one, and the alias-domain alias query', async () => {
      expect(await backend('postfixadmin').aliasDomainTarget('alias.example')).toBe('example.net');
      expect(await backend('postfixadmin').aliasDomainTarget('old-alias.example')).toBeNull();
      expect(await backend('postfixadmin').aliasDomainTarget('example.net')).toBeNull();
      expect(await backend('postfixadmin').aliasTargets('both@alias.example')).toEqual(['carol@example.net', 'frank@example.net']);
      expect(await backend('postfixadmin').aliasTargets('both@old-alias.example')).toEqual([]);
      // %u with an empty local part suppresses the alias-domain query (mysql_table(5)).
      expect(await backend('postfixadmin').aliasTargets('@alias.example')).toEqual([]);
    });

    it('findUser returns the hash and the byte quota rule', async () => {
      const frank = await backend('postfixadmin').findUser('frank@example.net');
      expect(frank).toEqual({
        user: 'frank@example.net',
        password: `{SHA512-CRYPT}${ALICE_HASH}`,
        uid: 5000,
        gid: 5000,
        quotaRules: ['*:bytes=1048576'],
      });
      const carol = await backend('postfixadmin').findUser('carol@example.net');
      expect(carol?.password).toMatch(/^\{BLF-CRYPT\}\$2y\$10\$/);
      expect(carol?.quotaRules).toEqual(['*:bytes=0']);
      expect(carol?.home).toBeUndefined();
      expect(await backend('postfixadmin').findUser('gone@example.net')).toBeNull();
    });
  });

  describe('SQL metacharacters in lookup input', () => {
    async function checksums(): Promise<string> {
      const rows: unknown[] = [];
      for (const name of SCHEMA_NAMES) {
        const tables = (await server.query('SHOW TABLES', [], `lookup_${name}`)) as Array<Record<string, string>>;
        const list = tables.map((t) => `lookup_${name}.\`${Object.values(t)[0]}\``).join(', ');
        rows.push(await server.query(`CHECKSUM TABLE ${list}`));
      }
      return JSON.stringify(rows);
    }

    it.each(SCHEMA_NAMES)('%s: every lookup finds nothing and changes nothing', async (name) => {
      const before = await checksums();
      const b = backend(name);
      for (const input of HOSTILE_INPUTS) {
        const variants = [input, `${input}@example.com`, `alice@${input}`];
        for (const key of variants) {
          expect(await b.isLocalDomain(key), `domain ${JSON.stringify(key)}`).toBe(false);
          expect(await b.mailboxExists(key), `mailbox ${JSON.stringify(key)}`).toBe(false);
          expect(await b.aliasTargets(key), `alias ${JSON.stringify(key)}`).toEqual([]);
          expect(await b.aliasDomainTarget(key), `alias domain ${JSON.stringify(key)}`).toBeNull();
          expect(await b.findUser(key), `user ${JSON.stringify(key)}`).toBeNull();
        }
      }
      expect(await checksums()).toBe(before);
    });
  });
});
