/**
 * The CLI's write path on every preset schema: what is written is what the lookups then see,
 * soft-delete schemas mark rows instead of deleting them, and each schema's own columns are
 * filled the way its original tooling does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInput, NotFound, Unsupported } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { MysqlBackend } from '../../src/directory/mysql/backend.js';
import type { PresetName } from '../../src/directory/mysql/options.js';
import { mariadbSkipReason, startMariaDb, type MariaDb } from '../helpers/mariadb.js';
import { SCHEMA_NAMES, loadSchema, options } from './setup.js';

const HASH = '$6$rounds=5000$abcdefgh$uvwxyz';
const NEW_HASH = '$6$ijklmnop$0123456789';

interface Expectations {
  /** How the stored password looks (bare crypt where the schema's default scheme is SHA512-CRYPT). */
  stored: (hash: string) => string;
  /** Quota to add the test user with, and the rule findUser then reports (undefined: none). */
  quotaBytes: number | null;
  quotaRule?: string;
  /** SQL returning one row per *stored* row of the user (soft-deleted ones included). */
  userRows: string;
  softDelete: boolean;
}

const EXPECT: Record<PresetName, Expectations> = {
  platform: {
    stored: (h) => h,
    quotaBytes: 5 * 1024 * 1024 + 1,
    quotaRule: '*:storage=6M',
    userRows: "SELECT deleted_at IS NOT NULL AS marked FROM mail_mailboxes WHERE email = 'neo@new.example'",
    softDelete: true,
  },
  linode: {
    stored: (h) => h,
    quotaBytes: null,
    userRows: "SELECT 0 AS marked FROM virtual_users WHERE email = 'neo@new.example'",
    softDelete: false,
  },
  isdel: {
    stored: (h) => `{SHA512-CRYPT}${h}`,
    quotaBytes: null,
    userRows: "SELECT isDel = 'Y' AS marked FROM virtual_users WHERE usrEmail = 'neo@new.example'",
    softDelete: true,
  },
  postfixadmin: {
    stored: (h) => `{SHA512-CRYPT}${h}`,
    quotaBytes: 5 * 1024 * 1024,
    quotaRule: '*:bytes=5242880',
    userRows: "SELECT 0 AS marked FROM mailbox WHERE username = 'neo@new.example'",
    softDelete: false,
  },
};

const skip = mariadbSkipReason();

describe.skipIf(skip !== null)('MySQL admin writes', () => {
  let server: MariaDb;
  const backends = new Map<PresetName, MysqlBackend>();

  beforeAll(async () => {
    server = await startMariaDb();
    for (const name of SCHEMA_NAMES) {
      await loadSchema(server, name, `admin_${name}`);
      backends.set(name, new MysqlBackend(options(server, `admin_${name}`, name), silentLogger));
    }
  });

  afterAll(async () => {
    for (const b of backends.values()) await b.close();
    await server?.destroy();
  });

  const marks = async (name: PresetName): Promise<number[]> => {
    const rows = (await server.query(EXPECT[name].userRows, [], `admin_${name}`)) as Array<{ marked: number }>;
    return rows.map((r) => Number(r.marked));
  };

  describe.each(SCHEMA_NAMES)('%s', (name) => {
    const b = () => backends.get(name)!;
    const want = EXPECT[name];

    it('adds and lists a domain', async () => {
      await b().addDomain('New.Example');
      expect(await b().isLocalDomain('new.example')).toBe(true);
      expect(await b().listDomains()).toContain('new.example');
      await expect(b().addDomain('new.example')).rejects.toBeInstanceOf(InvalidInput);
    });

    it('adds a user that findUser then sees', async () => {
      await b().addUser({ address: 'Neo@New.Example', password: `{SHA512-CRYPT}${HASH}`, quotaBytes: want.quotaBytes });
      expect(await b().mailboxExists('neo@new.example')).toBe(true);
      const user = await b().findUser('neo@new.example');
      expect(user?.password).toBe(want.stored(HASH));
      expect(user?.quotaRules).toEqual(want.quotaRule === undefined ? undefined : [want.quotaRule]);
      expect(await b().listUsers()).toContain('neo@new.example');
    });

    it('refuses duplicates, unknown domains and invalid input', async () => {
      await expect(b().addUser({ address: 'neo@new.example', password: '{PLAIN}x', quotaBytes: null })).rejects.toBeInstanceOf(
        InvalidInput,
      );
      await expect(b().addUser({ address: 'x@unknown.example', password: '{PLAIN}x', quotaBytes: null })).rejects.toBeInstanceOf(
        NotFound,
      );
      await expect(b().addUser({ address: "x' OR 1=1 --@new.example", password: '{PLAIN}x', quotaBytes: null })).rejects.toBeInstanceOf(
        InvalidInput,
      );
      await expect(b().addUser({ address: 'y@new.example', password: 'a\u0000b', quotaBytes: null })).rejects.toBeInstanceOf(InvalidInput);
      await expect(b().deleteUser('nobody@new.example')).rejects.toBeInstanceOf(NotFound);
      await expect(b().setPassword('nobody@new.example', '{PLAIN}x')).rejects.toBeInstanceOf(NotFound);
    });

    it('sets a password', async () => {
      await b().setPassword('neo@new.example', `{SHA512-CRYPT}${NEW_HASH}`);
      expect((await b().findUser('neo@new.example'))?.password).toBe(want.stored(NEW_HASH));
    });

    it('adds, lists and deletes aliases, including a catch-all', async () => {
      await b().addAlias('Info@New.Example', 'neo@new.example');
      await b().addAlias('@new.example', 'neo@new.example');
      expect(await b().aliasTargets('info@new.example')).toEqual(['neo@new.example']);
      expect(await b().aliasTargets('@new.example')).toEqual(['neo@new.example']);
      expect(await b().listAliases()).toContainEqual({ source: 'info@new.example', destinations: ['neo@new.example'] });
      await expect(b().addAlias('info@new.example', 'neo@new.example')).rejects.toBeInstanceOf(InvalidInput);
      await expect(b().addAlias('info@unknown.example', 'neo@new.example')).rejects.toBeInstanceOf(NotFound);

      await b().deleteAlias('info@new.example', 'neo@new.example');
      expect(await b().aliasTargets('info@new.example')).toEqual([]);
      await expect(b().deleteAlias('info@new.example', 'neo@new.example')).rejects.toBeInstanceOf(NotFound);
    });

    it('refuses to delete a domain that still has users or aliases', async () => {
      await expect(b().deleteDomain('new.example')).rejects.toBeInstanceOf(InvalidInput);
      expect(await b().isLocalDomain('new.example')).toBe(true);
    });

    it(`deletes a user (${want.softDelete ? 'marking the row' : 'removing the row'}) and can add it again`, async () => {
      await b().deleteUser('neo@new.example');
      expect(await b().findUser('neo@new.example')).toBeNull();
      expect(await b().mailboxExists('neo@new.example')).toBe(false);
      expect(await b().listUsers()).not.toContain('neo@new.example');
      expect(await marks(name)).toEqual(want.softDelete ? [1] : []);

      await b().addUser({ address: 'neo@new.example', password: `{SHA512-CRYPT}${HASH}`, quotaBytes: want.quotaBytes });
      expect((await b().findUser('neo@new.example'))?.password).toBe(want.stored(HASH));
      expect(await marks(name)).toEqual([0]);
      await b().deleteUser('neo@new.example');
    });

    it('deletes an empty domain', async () => {
      await b().deleteAlias('@new.example');
      await b().deleteDomain('new.example');
      expect(await b().isLocalDomain('new.example')).toBe(false);
      expect(await b().listDomains()).not.toContain('new.example');
      await expect(b().deleteDomain('new.example')).rejects.toBeInstanceOf(NotFound);
    });
  });

  describe('schema specifics', () => {
    const b = (name: PresetName) => backends.get(name)!;

    it('platform: quota null takes the column default, aliases are switched off not deleted', async () => {
      await b('platform').addUser({ address: 'q@shop.example', password: HASH, quotaBytes: null });
      expect((await b('platform').findUser('q@shop.example'))?.quotaRules).toEqual(['*:storage=1024M']);
      await b('platform').deleteAlias('postmaster@shop.example');
      const rows = (await server.query(
        "SELECT is_active FROM mail_aliases WHERE alias_email = 'postmaster@shop.example'",
        [],
        'admin_platform',
      )) as Array<{ is_active: number }>;
      expect(rows.map((r) => Number(r.is_active))).toEqual([0]);
      await b('platform').addAlias('postmaster@shop.example', 'ines@shop.example');
      expect(await b('platform').aliasTargets('postmaster@shop.example')).toEqual(['ines@shop.example']);
    });

    it('linode and isdel: no quota column', async () => {
      for (const [name, address] of [['linode', 'q@lakeside.example'], ['isdel', 'q@orchard.example']] as const) {
        await expect(b(name).addUser({ address, password: HASH, quotaBytes: 1 })).rejects.toBeInstanceOf(Unsupported);
      }
    });

    it('linode: a new user maps to itself through email2email', async () => {
      await b('linode').addUser({ address: 'self@lakeside.example', password: HASH, quotaBytes: null });
      expect(await b('linode').aliasTargets('self@lakeside.example')).toEqual(['self@lakeside.example']);
    });

    it('isdel: alias destinations must be local users (usrIdx)', async () => {
      await expect(b('isdel').addAlias('ext@orchard.example', 'someone@elsewhere.example')).rejects.toBeInstanceOf(NotFound);
      await b('isdel').addAlias('sales@orchard.example', 'walt@orchard.example');
      expect(await b('isdel').aliasTargets('sales@orchard.example')).toEqual(['walt@orchard.example']);
      const rows = (await server.query("SELECT COUNT(*) AS n FROM virtual_aliases WHERE source = 'sales@orchard.example'", [], 'admin_isdel')) as Array<{
        n: number;
      }>;
      expect(Number(rows[0]?.n)).toBe(1);
    });

    it('postfixadmin: mailbox rows in PostfixAdmin form, with a self alias', async () => {
      await b('postfixadmin').addUser({ address: 'dora@meadow.example', password: '{BLF-CRYPT}$2y$10$x', quotaBytes: null });
      const rows = (await server.query(
        "SELECT maildir, local_part, domain, quota, active FROM mailbox WHERE username = 'dora@meadow.example'",
        [],
        'admin_postfixadmin',
      )) as Array<Record<string, unknown>>;
      expect(rows[0]).toMatchObject({ maildir: 'meadow.example/dora/', local_part: 'dora', domain: 'meadow.example', active: 1 });
      expect(Number(rows[0]?.quota)).toBe(0);
      expect(await b('postfixadmin').aliasTargets('dora@meadow.example')).toEqual(['dora@meadow.example']);
      // The self alias makes the mailbox reachable through the alias domain too.
      expect(await b('postfixadmin').aliasTargets('dora@meadow-alias.example')).toEqual(['dora@meadow.example']);
      expect((await b('postfixadmin').findUser('dora@meadow.example'))?.quotaRules).toEqual(['*:bytes=0']);
      await expect(
        b('postfixadmin').addUser({ address: 'abuse@meadow.example', password: '{PLAIN}x', quotaBytes: null }),
      ).rejects.toBeInstanceOf(InvalidInput);
    });

    it('postfixadmin: goto lists grow and shrink; a mailbox keeps its own alias row', async () => {
      const pa = b('postfixadmin');
      await pa.addAlias('both@meadow.example', 'dora@meadow.example');
      expect(await pa.aliasTargets('both@meadow.example')).toEqual(['nora@meadow.example', 'otto@meadow.example', 'dora@meadow.example']);
      await pa.deleteAlias('both@meadow.example', 'nora@meadow.example');
      expect(await pa.aliasTargets('both@meadow.example')).toEqual(['otto@meadow.example', 'dora@meadow.example']);

      await pa.addAlias('dora@meadow.example', 'dora@elsewhere.example');
      expect(await pa.aliasTargets('dora@meadow.example')).toEqual(['dora@meadow.example', 'dora@elsewhere.example']);
      await pa.deleteAlias('dora@meadow.example');
      expect(await pa.aliasTargets('dora@meadow.example')).toEqual(['dora@meadow.example']);
      await expect(pa.deleteAlias('dora@meadow.example')).rejects.toBeInstanceOf(NotFound);

      await pa.deleteUser('dora@meadow.example');
      const left = (await server.query("SELECT COUNT(*) AS n FROM alias WHERE address = 'dora@meadow.example'", [], 'admin_postfixadmin')) as Array<{
        n: number;
      }>;
      expect(Number(left[0]?.n)).toBe(0);
      expect(await pa.listAliases()).toContainEqual({ source: 'both@meadow.example', destinations: ['otto@meadow.example', 'dora@meadow.example'] });
      expect((await pa.listAliases()).map((a) => a.source)).not.toContain('nora@meadow.example');
    });
  });
});
