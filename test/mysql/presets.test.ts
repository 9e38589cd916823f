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
import { SAMPLE_MAILBOX, SCHEMA_NAMES, hostileInputs, loadSchema, options } from './setup.js';

// Stored passwords of test/fixtures/schemas/*.sql, as the rows hold them.
const INES_HASH = '$6$RRq972zL7BDRWz6t$LveF1KOBRQt6evcVYKk7OxNdL7In.uN3inpuOU/M0bYFdaLbKjivgdO4T/pxz.uCyXgcWzVSqtDgUhq3L/kIa1';
const JONAS_HASH = '$5$Kv.4LBaxrasxOn6S$93aCxScE0dgiqBgiPcPP0FRYUr9T2x/H7iJMYbt7eK3';
const PAULA_HASH = '$6$DgUanV.XDzwryp0D$FqD55I7xo0UFF/jN/CXuP5v0H/Z3Xf5VwGR8oeYtO.bY2XjGhSstsWXPhHI.44bxJ/TgI3ySjvaaMsD3vNgzN.';
const VERA_STORED =
  '{SHA512-CRYPT}$6$tkV5OFDi/cZQO3zI$Nyg6eybQsbhZwKBThaHRrCJaiN6xsAbIFtNnHfriLiLArFPw203L0RherALZgDhMuEmlBQp7OerDDP7I0ALU51';
const OTTO_STORED =
  '{SHA512-CRYPT}$6$Ow6ZucKliPks5ORo$oL3M6P8LnxtMuiTGxUq/bYg1pOUiSiR24SE4ajkbNMjtuyosQ2Uyluy8/x2mKC8W7J8tQF4lmRWURU8E1G9cv1';

const skip = mariadbSkipReason();

describe.skipIf(skip !== null)('MySQL presets against the fixture schemas', () => {
  let server: MariaDb;
  const backends = new Map<PresetName, MysqlBackend>();
  const backend = (name: PresetName): MysqlBackend => backends.get(name)!;

  beforeAll(async () => {
    server = await startMariaDb();
    for (const name of SCHEMA_NAMES) {
      await loadSchema(server, name, `lookup_${name}`);
      backends.set(name, new MysqlBackend(options(server, `lookup_${name}`, name), silentLogger));
    }
  });

  afterAll(async () => {
    for (const b of backends.values()) await b.close();
    await server?.destroy();
  });

  describe('platform', () => {
    it('local domains are verified and not deleted', async () => {
      expect(await backend('platform').isLocalDomain('shop.example')).toBe(true);
      expect(await backend('platform').isLocalDomain('SHOP.example')).toBe(true);
      expect(await backend('platform').isLocalDomain('pending.example')).toBe(false);
      expect(await backend('platform').isLocalDomain('closed.example')).toBe(false);
      expect(await backend('platform').isLocalDomain('elsewhere.example')).toBe(false);
    });

    it('mailboxes are active and not deleted', async () => {
      expect(await backend('platform').mailboxExists('ines@shop.example')).toBe(true);
      expect(await backend('platform').mailboxExists('jonas@shop.example')).toBe(true);
      expect(await backend('platform').mailboxExists('kemal@shop.example')).toBe(true);
      expect(await backend('platform').mailboxExists('lena@shop.example')).toBe(false);
      expect(await backend('platform').mailboxExists('milo@shop.example')).toBe(false);
      expect(await backend('platform').mailboxExists('nobody@shop.example')).toBe(false);
    });

    it('aliases: active ones, every destination', async () => {
      expect(await backend('platform').aliasTargets('postmaster@shop.example')).toEqual(['ines@shop.example']);
      expect((await backend('platform').aliasTargets('team@shop.example')).sort()).toEqual(['ines@shop.example', 'jonas@shop.example']);
      expect(await backend('platform').aliasTargets('old@shop.example')).toEqual([]);
      expect(await backend('platform').aliasTargets('ines@shop.example')).toEqual([]);
      expect(await backend('platform').aliasDomainTarget('shop.example')).toBeNull();
    });

    it('findUser returns the stored hash and the MiB quota rule', async () => {
      expect(await backend('platform').findUser('ines@shop.example')).toEqual({
        user: 'ines@shop.example',
        password: INES_HASH,
        uid: 5000,
        gid: 5000,
        quotaRules: ['*:storage=1024M'],
      });
      const jonas = await backend('platform').findUser('Jonas@Shop.example');
      expect(jonas?.password).toBe(JONAS_HASH);
      expect(jonas?.quotaRules).toEqual(['*:storage=1M']);
      expect(jonas?.mail).toBeUndefined();
      const kemal = await backend('platform').findUser('kemal@shop.example');
      expect(kemal?.password).toMatch(/^\{ARGON2I\}\$argon2i\$v=19\$/);
      expect(kemal?.quotaRules).toEqual(['*:storage=2048M']);
      expect(await backend('platform').findUser('lena@shop.example')).toBeNull();
      expect(await backend('platform').findUser('milo@shop.example')).toBeNull();
      expect(await backend('platform').findUser('nobody@shop.example')).toBeNull();
    });
  });

  describe('linode', () => {
    it('local domains', async () => {
      for (const d of ['lakeside.example', 'mail.lakeside.example', 'mail', 'localhost.lakeside.example']) {
        expect(await backend('linode').isLocalDomain(d)).toBe(true);
      }
      expect(await backend('linode').isLocalDomain('orchard.example')).toBe(false);
    });

    it('mailboxes', async () => {
      expect(await backend('linode').mailboxExists('paula@lakeside.example')).toBe(true);
      expect(await backend('linode').mailboxExists('rosa@lakeside.example')).toBe(true);
      expect(await backend('linode').mailboxExists('hello@lakeside.example')).toBe(false);
    });

    it('aliases, the catch-all key and the email2email self map', async () => {
      expect(await backend('linode').aliasTargets('hello@lakeside.example')).toEqual(['paula@lakeside.example']);
      expect(await backend('linode').aliasTargets('@mail.lakeside.example')).toEqual(['quinn@lakeside.example']);
      expect(await backend('linode').aliasTargets('paula@lakeside.example')).toEqual(['paula@lakeside.example']);
      expect(await backend('linode').aliasTargets('nobody@lakeside.example')).toEqual([]);
    });

    it('findUser returns the bare crypt hash and no quota', async () => {
      expect(await backend('linode').findUser('paula@lakeside.example')).toEqual({ user: 'paula@lakeside.example', password: PAULA_HASH });
      expect((await backend('linode').findUser('rosa@lakeside.example'))?.password).toMatch(/^\$5\$nik4x9Kq1lnAjRDp\$/);
      expect((await backend('linode').findUser('sam@lakeside.example'))?.password).toMatch(/^\$1\$zrVymM5D\$/);
      expect(await backend('linode').findUser('nobody@lakeside.example')).toBeNull();
    });
  });

  describe('isdel', () => {
    it("honors isDel = 'N' for domains, mailboxes and aliases", async () => {
      expect(await backend('isdel').isLocalDomain('orchard.example')).toBe(true);
      expect(await backend('isdel').isLocalDomain('fallow.example')).toBe(false);
      expect(await backend('isdel').mailboxExists('vera@orchard.example')).toBe(true);
      expect(await backend('isdel').mailboxExists('walt@orchard.example')).toBe(true);
      expect(await backend('isdel').mailboxExists('yusuf@orchard.example')).toBe(false);
      expect(await backend('isdel').aliasTargets('info@orchard.example')).toEqual(['vera@orchard.example']);
      expect(await backend('isdel').aliasTargets('sales@orchard.example')).toEqual([]);
    });

    it('findUser returns hashes with their scheme prefix; deleted users are unknown', async () => {
      expect((await backend('isdel').findUser('vera@orchard.example'))?.password).toBe(VERA_STORED);
      expect((await backend('isdel').findUser('walt@orchard.example'))?.password).toMatch(/^\{SHA512\}QR8AhBSQ/);
      expect(await backend('isdel').findUser('yusuf@orchard.example')).toBeNull();
    });
  });

  describe('postfixadmin', () => {
    it('local domains are active and not backup MX', async () => {
      expect(await backend('postfixadmin').isLocalDomain('meadow.example')).toBe(true);
      expect(await backend('postfixadmin').isLocalDomain('meadow-alias.example')).toBe(true);
      expect(await backend('postfixadmin').isLocalDomain('dormant.example')).toBe(false);
      expect(await backend('postfixadmin').isLocalDomain('relay.example')).toBe(false);
    });

    it('mailboxes are active', async () => {
      expect(await backend('postfixadmin').mailboxExists('nora@meadow.example')).toBe(true);
      expect(await backend('postfixadmin').mailboxExists('otto@meadow.example')).toBe(true);
      expect(await backend('postfixadmin').mailboxExists('ruth@meadow.example')).toBe(false);
    });

    it('aliases: comma-separated goto, self aliases, inactive ones ignored', async () => {
      expect(await backend('postfixadmin').aliasTargets('both@meadow.example')).toEqual(['nora@meadow.example', 'otto@meadow.example']);
      expect(await backend('postfixadmin').aliasTargets('abuse@meadow.example')).toEqual(['nora@meadow.example']);
      expect(await backend('postfixadmin').aliasTargets('nora@meadow.example')).toEqual(['nora@meadow.example']);
      expect(await backend('postfixadmin').aliasTargets('old@meadow.example')).toEqual([]);
      expect(await backend('postfixadmin').aliasTargets('ruth@meadow.example')).toEqual([]);
    });

    it('alias domains: target of an active one, and the alias-domain alias query', async () => {
      expect(await backend('postfixadmin').aliasDomainTarget('meadow-alias.example')).toBe('meadow.example');
      expect(await backend('postfixadmin').aliasDomainTarget('stale-alias.example')).toBeNull();
      expect(await backend('postfixadmin').aliasDomainTarget('meadow.example')).toBeNull();
      expect(await backend('postfixadmin').aliasTargets('both@meadow-alias.example')).toEqual(['nora@meadow.example', 'otto@meadow.example']);
      expect(await backend('postfixadmin').aliasTargets('both@stale-alias.example')).toEqual([]);
      // %u with an empty local part suppresses the alias-domain query (mysql_table(5)).
      expect(await backend('postfixadmin').aliasTargets('@meadow-alias.example')).toEqual([]);
    });

    it('findUser returns the hash and the byte quota rule', async () => {
      const otto = await backend('postfixadmin').findUser('otto@meadow.example');
      expect(otto).toEqual({
        user: 'otto@meadow.example',
        password: OTTO_STORED,
        uid: 5000,
        gid: 5000,
        quotaRules: ['*:bytes=1048576'],
      });
      const nora = await backend('postfixadmin').findUser('nora@meadow.example');
      expect(nora?.password).toMatch(/^\{BLF-CRYPT\}\$2y\$10\$/);
      expect(nora?.quotaRules).toEqual(['*:bytes=0']);
      expect(nora?.home).toBeUndefined();
      expect(await backend('postfixadmin').findUser('ruth@meadow.example')).toBeNull();
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
      const mailbox = SAMPLE_MAILBOX[name];
      const [local, domain] = mailbox.split('@') as [string, string];
      expect(await b.mailboxExists(mailbox)).toBe(true);
      for (const input of hostileInputs(mailbox)) {
        const variants = [input, `${input}@${domain}`, `${local}@${input}`];
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
