/**
 * Custom queries pasted from an existing setup: Postfix `mysql-virtual-*.cf` queries and
 * Dovecot `dovecot-sql.conf.ext` queries, run as written against the platform schema.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TempFailure, Unsupported } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { MysqlBackend } from '../../src/directory/mysql/backend.js';
import type { MysqlQueries } from '../../src/directory/mysql/options.js';
import { mariadbSkipReason, startMariaDb, type MariaDb } from '../helpers/mariadb.js';
import { SAMPLE_MAILBOX, hostileInputs, loadSchema, options } from './setup.js';

// Seed 000, verbatim (the Dovecot ones with their line continuations joined, as a config
// parser hands them over).
const SEED_QUERIES: MysqlQueries = {
  domain: "SELECT 1 FROM mail_domains WHERE domain_name = '%s' AND is_verified = 1 AND deleted_at IS NULL",
  mailbox: "SELECT 1 FROM mail_mailboxes WHERE email = '%s' AND is_active = 1 AND deleted_at IS NULL",
  alias: "SELECT destination_email FROM mail_aliases WHERE alias_email = '%s' AND is_active = 1",
  password: `SELECT email as user, password_hash as password
  FROM mail_mailboxes
  WHERE email = '%u' AND is_active = 1 AND deleted_at IS NULL`,
  user: `SELECT
    email as user,
    'maildir:/var/mail/vhosts/%d/%n' as mail,
    5000 AS uid, 5000 AS gid,
    CONCAT('*:storage=', CAST(storage_quota AS CHAR), 'M') AS quota_rule
  FROM mail_mailboxes
  WHERE email = '%u' AND is_active = 1 AND deleted_at IS NULL`,
};

const skip = mariadbSkipReason();

describe.skipIf(skip !== null)('custom queries', () => {
  let server: MariaDb;
  const open: MysqlBackend[] = [];
  const make = (queries: MysqlQueries): MysqlBackend => {
    const b = new MysqlBackend(options(server, 'custom_platform', 'custom', queries), silentLogger);
    open.push(b);
    return b;
  };

  beforeAll(async () => {
    server = await startMariaDb();
    await loadSchema(server, 'platform', 'custom_platform');
  });

  afterAll(async () => {
    for (const b of open) await b.close();
    await server?.destroy();
  });

  it('runs the seed’s Postfix map queries', async () => {
    const b = make(SEED_QUERIES);
    expect(await b.isLocalDomain('shop.example')).toBe(true);
    expect(await b.isLocalDomain('pending.example')).toBe(false);
    expect(await b.isLocalDomain('closed.example')).toBe(false);
    expect(await b.mailboxExists('ines@shop.example')).toBe(true);
    expect(await b.mailboxExists('lena@shop.example')).toBe(false);
    expect(await b.mailboxExists('milo@shop.example')).toBe(false);
    expect((await b.aliasTargets('team@shop.example')).sort()).toEqual(['ines@shop.example', 'jonas@shop.example']);
    expect(await b.aliasDomainTarget('shop.example')).toBeNull();
  });

  it('runs the seed’s Dovecot user_query, expanding the mail location', async () => {
    const b = make(SEED_QUERIES);
    expect(await b.findUser('ines@shop.example')).toEqual({
      user: 'ines@shop.example',
      password: expect.stringMatching(/^\$6\$RRq972zL7BDRWz6t\$/),
      mail: 'maildir:/var/mail/vhosts/shop.example/ines',
      uid: 5000,
      gid: 5000,
      quotaRules: ['*:storage=1024M'],
    });
    expect((await b.findUser('jonas@shop.example'))?.quotaRules).toEqual(['*:storage=1M']);
    expect(await b.findUser('lena@shop.example')).toBeNull();
    expect(await b.findUser('milo@shop.example')).toBeNull();
  });

  it('splits keys with %u/%d and suppresses %d lookups for keys without a domain', async () => {
    const b = make({
      ...SEED_QUERIES,
      alias: [
        "SELECT destination_email FROM mail_aliases WHERE alias_email = CONCAT('%u', '@', '%d') AND is_active = 1",
        "SELECT destination_email FROM mail_aliases WHERE alias_email = '%u@shop.example' AND is_active = 1 -- local part only",
      ],
      domain: "SELECT 'yes' FROM mail_domains WHERE domain_name = SUBSTRING_INDEX('%s', '@', -1) AND is_verified = 1",
    });
    expect(await b.aliasTargets('postmaster@shop.example')).toEqual(['ines@shop.example']);
    // No '@': the %d query is suppressed, the %u query uses the whole key.
    expect(await b.aliasTargets('postmaster')).toEqual(['ines@shop.example']);
    expect(await b.isLocalDomain('shop.example')).toBe(true);
  });

  it('honors home, mail and prefetch userdb_ fields from custom queries', async () => {
    const b = make({
      ...SEED_QUERIES,
      password:
        "SELECT email AS user, password_hash AS password, '/srv/mail/%d/%n' AS userdb_home, " +
        "CONCAT('*:bytes=', storage_quota * 1048576) AS userdb_quota_rule FROM mail_mailboxes WHERE email = '%u' AND is_active = 1",
      user: '',
    });
    expect(await b.findUser('jonas@shop.example')).toEqual({
      user: 'jonas@shop.example',
      password: expect.stringMatching(/^\$5\$/),
      home: '/srv/mail/shop.example/jonas',
      quotaRules: ['*:bytes=1048576'],
    });
  });

  it('keeps hostile input out of custom queries too', async () => {
    const b = make(SEED_QUERIES);
    for (const input of hostileInputs(SAMPLE_MAILBOX.platform)) {
      expect(await b.isLocalDomain(input)).toBe(false);
      expect(await b.mailboxExists(input)).toBe(false);
      expect(await b.aliasTargets(input)).toEqual([]);
      expect(await b.findUser(input)).toBeNull();
    }
    const rows = (await server.query('SELECT COUNT(*) AS n FROM custom_platform.mail_mailboxes')) as Array<{ n: number }>;
    expect(Number(rows[0]?.n)).toBe(5);
  });

  it('turns a query against a missing table into TempFailure, not "not found"', async () => {
    const b = make({ ...SEED_QUERIES, mailbox: "SELECT 1 FROM no_such_table WHERE email = '%s'" });
    await expect(b.mailboxExists('ines@shop.example')).rejects.toBeInstanceOf(TempFailure);
    // The pool is still usable afterwards.
    expect(await b.isLocalDomain('shop.example')).toBe(true);
  });

  it('turns a collation clash in the operator’s query into TempFailure for ASCII input', async () => {
    const b = make({
      ...SEED_QUERIES,
      domain: "SELECT 1 FROM mail_domains WHERE domain_name = CONVERT('%s' USING latin1) COLLATE latin1_bin AND domain_name = _utf8mb4'x' COLLATE utf8mb4_bin",
    });
    const err = await b.isLocalDomain('shop.example').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TempFailure);
    expect((err as TempFailure).detail).toMatchObject({ code: expect.stringMatching(/^ER_CANT_AGGREGATE/) });
  });

  it('refuses every write with Unsupported', async () => {
    const b = make(SEED_QUERIES);
    const writes: Array<() => Promise<unknown>> = [
      () => b.listUsers(),
      () => b.addUser({ address: 'x@shop.example', password: '{PLAIN}x', quotaBytes: null }),
      () => b.deleteUser('ines@shop.example'),
      () => b.setPassword('ines@shop.example', '{PLAIN}x'),
      () => b.listDomains(),
      () => b.addDomain('new.example'),
      () => b.deleteDomain('shop.example'),
      () => b.listAliases(),
      () => b.addAlias('a@shop.example', 'ines@shop.example'),
      () => b.deleteAlias('team@shop.example'),
    ];
    for (const write of writes) {
      await expect(write()).rejects.toThrow(Unsupported);
      await expect(write()).rejects.toThrow(/manage users in your own tool/);
    }
    expect(await b.mailboxExists('ines@shop.example')).toBe(true);
  });
});
