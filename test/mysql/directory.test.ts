/**
 * The whole directory over real MariaDB, as the protocols will use it: the Directory class with
 * the real password hasher on each fixture schema (logins with the fixture passwords, alias
 * resolution, quotas), the CLI through a config file, and MySQL dying under both.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createBackend, createDirectory, createPasswordHasher } from '../../src/compose.js';
import { TempFailure } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Directory } from '../../src/directory/directory.js';
import type { PasswordHasher } from '../../src/directory/schemes/index.js';
import type { PresetName } from '../../src/directory/mysql/options.js';
import { cli } from '../helpers/cli.js';
import { mariadbSkipReason, startMariaDb, type MariaDb } from '../helpers/mariadb.js';
import { tempDir } from '../helpers/tmp.js';
import { loadSchema, schemaFile } from './setup.js';

const skip = mariadbSkipReason();

function configText(server: MariaDb, database: string, preset: PresetName | 'custom', extra = ''): string {
  return [
    'data_dir = "data"',
    '[mail]',
    'location = "maildir:/var/mail/vhosts/%d/%n"',
    '[directory]',
    'backend = "mysql"',
    '[directory.mysql]',
    `socket = "${server.socket}"`,
    `user = "${server.user}"`,
    `password = "${server.password}"`,
    `database = "${database}"`,
    `preset = "${preset}"`,
    'connect_timeout = 1',
    'query_timeout = 2',
    extra,
  ].join('\n');
}

describe.skipIf(skip !== null)('directory over MySQL, end to end', () => {
  let server: MariaDb;
  let dir: string;
  let cleanup: () => Promise<void>;
  const open: { directory: Directory; hasher: PasswordHasher }[] = [];

  function directoryFor(preset: PresetName, database = preset) {
    const config = parseConfig(configText(server, database, preset), path.join(dir, 'x.toml'));
    const hasher = createPasswordHasher(config);
    const directory = createDirectory(config, createBackend(config, silentLogger), hasher, silentLogger);
    open.push({ directory, hasher });
    return directory;
  }

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    server = await startMariaDb();
    for (const preset of ['platform', 'linode', 'isdel', 'postfixadmin'] as const) await loadSchema(server, preset, preset);
  });
  afterAll(async () => {
    for (const o of open) {
      await o.directory.close();
      await o.hasher.close();
    }
    await server?.destroy();
    await cleanup?.();
  });

  const LOGINS: [PresetName, string, string, string | null, RegExp][] = [
    ['platform', 'ines@shop.example', 'ink-ines', '/var/mail/vhosts/shop.example/ines', /^1073741824$/],
    ['platform', 'jonas@shop.example', 'jade-jonas', '/var/mail/vhosts/shop.example/jonas', /^1048576$/],
    ['platform', 'kemal@shop.example', 'kite-kemal', null, /^2147483648$/],
    ['linode', 'paula@lakeside.example', 'pebble-paula', '/var/mail/vhosts/lakeside.example/paula', /^null$/],
    ['linode', 'quinn@lakeside.example', 'quartz-quinn', null, /^null$/],
    ['linode', 'rosa@lakeside.example', 'reed-rosa', null, /^null$/],
    ['linode', 'sam@lakeside.example', 'slate-sam', null, /^null$/],
    ['isdel', 'vera@orchard.example', 'vine-vera', '/var/mail/vhosts/orchard.example/vera', /^null$/],
    ['isdel', 'walt@orchard.example', 'walnut-walt', null, /^null$/],
    ['postfixadmin', 'nora@meadow.example', 'nettle-nora', '/var/mail/vhosts/meadow.example/nora', /^null$/],
    ['postfixadmin', 'otto@meadow.example', 'oat-otto', null, /^1048576$/],
  ];

  it.each(LOGINS)('%s: %s logs in with the fixture password only', async (preset, user, password, maildir, quota) => {
    const d = directoryFor(preset);
    const ok = await d.authenticate(user, password);
    expect(ok).not.toBeNull();
    if (maildir) expect(ok!.maildir).toBe(maildir);
    expect(String(ok!.quotaBytes)).toMatch(quota);
    expect(await d.authenticate(user, password + 'x')).toBeNull();
    expect(await d.authenticate(user.toUpperCase(), password)).not.toBeNull();
  });

  it.each([
    ['platform', 'lena@shop.example', 'lark-lena'],
    ['platform', 'milo@shop.example', 'moss-milo'],
    ['isdel', 'yusuf@orchard.example', 'yarrow-yusuf'],
    ['postfixadmin', 'ruth@meadow.example', 'rye-ruth'],
    ['platform', "' OR 1=1 --", 'x'],
    ['platform', "ines@shop.example' -- ", 'ink-ines'],
  ] as const)('%s: %s cannot log in', async (preset, user, password) => {
    expect(await directoryFor(preset).authenticate(user, password)).toBeNull();
  });

  it('resolves addresses the way the seeds\' Postfix maps do', async () => {
    const platform = directoryFor('platform');
    expect(await platform.resolve('team@shop.example')).toEqual({ kind: 'deliver', mailboxes: ['ines@shop.example', 'jonas@shop.example'], forwards: [] });
    expect(await platform.resolve('old@shop.example')).toEqual({ kind: 'unknown' });
    expect(await platform.resolve('lena@shop.example')).toEqual({ kind: 'unknown' });
    expect(await platform.resolve('milo@shop.example')).toEqual({ kind: 'unknown' });
    expect(await platform.resolve('ines@pending.example')).toEqual({ kind: 'foreign' });
    expect(await platform.resolve('ines@closed.example')).toEqual({ kind: 'foreign' });
    expect(await platform.resolve('jonas+news@shop.example')).toMatchObject({ mailboxes: ['jonas@shop.example'] });
    expect(await platform.ownsAddress('ines@shop.example', 'postmaster@shop.example')).toBe(true);
    expect(await platform.ownsAddress('jonas@shop.example', 'postmaster@shop.example')).toBe(false);

    const linode = directoryFor('linode');
    expect(await linode.resolve('hello@lakeside.example')).toMatchObject({ mailboxes: ['paula@lakeside.example'] });
    expect(await linode.resolve('anyone@mail.lakeside.example')).toMatchObject({ mailboxes: ['quinn@lakeside.example'] });
    expect(await linode.resolve('rosa@lakeside.example')).toMatchObject({ mailboxes: ['rosa@lakeside.example'] });

    const isdel = directoryFor('isdel');
    expect(await isdel.resolve('info@orchard.example')).toMatchObject({ mailboxes: ['vera@orchard.example'] });
    expect(await isdel.resolve('sales@orchard.example')).toEqual({ kind: 'unknown' });
    expect(await isdel.resolve('x@fallow.example')).toEqual({ kind: 'foreign' });

    const pfa = directoryFor('postfixadmin');
    expect(await pfa.resolve('both@meadow.example')).toEqual({ kind: 'deliver', mailboxes: ['nora@meadow.example', 'otto@meadow.example'], forwards: [] });
    expect(await pfa.resolve('nora@meadow-alias.example')).toMatchObject({ mailboxes: ['nora@meadow.example'] });
    expect(await pfa.resolve('abuse@meadow-alias.example')).toMatchObject({ mailboxes: ['nora@meadow.example'] });
    expect(await pfa.resolve('nobody@meadow-alias.example')).toEqual({ kind: 'unknown' });
    expect(await pfa.isLocalDomain('meadow-alias.example')).toBe(true);
  });

  it('CLI: user, alias and domain commands write the preset schema; auth test reads it', async () => {
    await server.createDatabase('cli_platform');
    await server.loadSql(schemaFile('platform'), 'cli_platform');
    const config = path.join(dir, 'cli.toml');
    await writeFile(config, configText(server, 'cli_platform', 'platform'));
    const c = (args: string[], stdin = '') => cli([...args, '--config', config], stdin);

    expect((await c(['user', 'add', 'zoe@shop.example', '--quota', '2G', '--password-stdin'], 'zoe-pass\n')).code).toBe(0);
    const [row] = (await server.query('SELECT password_hash, storage_quota, is_active FROM mail_mailboxes WHERE email = ?', ['zoe@shop.example'], 'cli_platform')) as Record<string, unknown>[];
    expect(row).toMatchObject({ storage_quota: 2048, is_active: 1 });
    expect(String(row!.password_hash)).toMatch(/^\$6\$/);
    const auth = await c(['auth', 'test', 'zoe@shop.example'], 'zoe-pass\n');
    expect(auth.stdout).toContain('quota: 2G');
    expect(auth.stdout).toContain('mail: maildir:/var/mail/vhosts/shop.example/zoe');
    expect((await c(['alias', 'add', 'sales@shop.example', 'zoe@shop.example'])).code).toBe(0);
    expect((await c(['alias', 'list'])).stdout).toContain('sales@shop.example zoe@shop.example');
    expect((await c(['user', 'list'])).stdout).toContain('zoe@shop.example');
    expect((await c(['user', 'del', 'zoe@shop.example'])).code).toBe(0);
    expect((await c(['auth', 'test', 'zoe@shop.example'], 'zoe-pass\n')).stderr).toContain('unknown user');
    expect((await c(['domain', 'add', 'new.example'])).code).toBe(0);
    expect((await c(['domain', 'list'])).stdout).toContain('new.example');

    const custom = path.join(dir, 'custom.toml');
    await writeFile(custom, configText(server, 'cli_platform', 'custom', [
      '[directory.mysql.queries]',
      "domain = \"SELECT 1 FROM mail_domains WHERE domain_name = '%s' AND is_verified = 1 AND deleted_at IS NULL\"",
      "mailbox = \"SELECT 1 FROM mail_mailboxes WHERE email = '%s' AND is_active = 1 AND deleted_at IS NULL\"",
      "alias = \"SELECT destination_email FROM mail_aliases WHERE alias_email = '%s' AND is_active = 1\"",
      "password = \"SELECT email as user, password_hash as password FROM mail_mailboxes WHERE email = '%u' AND is_active = 1 AND deleted_at IS NULL\"",
      "user = \"SELECT email as user, 'maildir:/srv/mail/%d/%n' as mail, CONCAT('*:storage=', CAST(storage_quota AS CHAR), 'M') AS quota_rule FROM mail_mailboxes WHERE email = '%u'\"",
    ].join('\n')));
    const refused = await cli(['user', 'add', 'x@shop.example', '--password-stdin', '--config', custom], 'x\n');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('custom queries');
    const customAuth = await cli(['auth', 'test', 'ines@shop.example', '--config', custom], 'ink-ines\n');
    expect(customAuth.code).toBe(0);
    expect(customAuth.stdout).toContain('mail: maildir:/srv/mail/shop.example/ines');
    const badQuery = path.join(dir, 'bad.toml');
    await writeFile(badQuery, configText(server, 'cli_platform', 'custom', '[directory.mysql.queries]\ndomain = "SELECT 1 WHERE x = \'%q\'"\n'));
    const check = await cli(['config', 'check', '--config', badQuery]);
    expect(check.code).toBe(1);
    expect(check.stderr).toMatch(/mailbox|%q/);
  });

  it('MySQL down: logins, lookups and the CLI report a temporary failure, then recover', async () => {
    const d = directoryFor('platform');
    expect(await d.authenticate('ines@shop.example', 'ink-ines')).not.toBeNull();
    const config = path.join(dir, 'down.toml');
    await writeFile(config, configText(server, 'platform', 'platform'));
    await server.kill();
    try {
      // a different password: the verify cache must not hide the outage
      await expect(d.authenticate('ines@shop.example', 'other')).rejects.toThrow(TempFailure);
      await expect(d.resolve('team@shop.example')).rejects.toThrow(TempFailure);
      await expect(d.addressExists('ines@shop.example')).rejects.toThrow(TempFailure);
      await expect(d.lookupUser('ines@shop.example')).rejects.toThrow(TempFailure);
      const r = await cli(['auth', 'test', 'ines@shop.example', '--config', config], 'ink-ines\n');
      expect(r.code).toBe(75);
      expect(r.stderr).toContain('temporary failure');
    } finally {
      await server.restart();
    }
    expect(await d.authenticate('ines@shop.example', 'ink-ines')).not.toBeNull();
    expect(await d.addressExists('team@shop.example')).toBe(true);
  });
});
