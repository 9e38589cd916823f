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
    ['platform', 'alice@example.com', 'alice-pass', '/var/mail/vhosts/example.com/alice', /^1073741824$/],
    ['platform', 'bob@example.com', 'bob-pass', '/var/mail/vhosts/example.com/bob', /^1048576$/],
    ['linode', 'email1@example.com', 'alice-pass', '/var/mail/vhosts/example.com/email1', /^null$/],
    ['linode', 'email2@example.com', 'bob-pass', null, /^null$/],
    ['linode', 'email3@example.com', 'dave-pass', null, /^null$/],
    ['isdel', 'alice@example.org', 'alice-pass', '/var/mail/vhosts/example.org/alice', /^null$/],
    ['isdel', 'erin@example.org', 'erin-pass', null, /^null$/],
    ['postfixadmin', 'carol@example.net', 'carol-pass', '/var/mail/vhosts/example.net/carol', /^null$/],
    ['postfixadmin', 'frank@example.net', 'alice-pass', null, /^1048576$/],
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
    ['platform', 'disabled@example.com', 'bob-pass'],
    ['isdel', 'left@example.org', 'alice-pass'],
    ['platform', "' OR 1=1 --", 'x'],
    ['platform', "alice@example.com' -- ", 'alice-pass'],
  ] as const)('%s: %s cannot log in', async (preset, user, password) => {
    expect(await directoryFor(preset).authenticate(user, password)).toBeNull();
  });

  it('resolves addresses the way the seeds\' Postfix maps do', async () => {
    const platform = directoryFor('platform');
    expect(await platform.resolve('team@example.com')).toEqual({ kind: 'deliver', mailboxes: ['alice@example.com', 'bob@example.com'], forwards: [] });
    expect(await platform.resolve('old@example.com')).toEqual({ kind: 'unknown' });
    expect(await platform.resolve('disabled@example.com')).toEqual({ kind: 'unknown' });
    expect(await platform.resolve('alice@unverified.example')).toEqual({ kind: 'foreign' });
    expect(await platform.resolve('alice@gone.example')).toEqual({ kind: 'foreign' });
    expect(await platform.resolve('bob+news@example.com')).toMatchObject({ mailboxes: ['bob@example.com'] });
    expect(await platform.ownsAddress('alice@example.com', 'postmaster@example.com')).toBe(true);
    expect(await platform.ownsAddress('bob@example.com', 'postmaster@example.com')).toBe(false);

    const linode = directoryFor('linode');
    expect(await linode.resolve('alias@example.com')).toMatchObject({ mailboxes: ['email1@example.com'] });
    expect(await linode.resolve('anyone@hostname.example.com')).toMatchObject({ mailboxes: ['email2@example.com'] });
    expect(await linode.resolve('email3@example.com')).toMatchObject({ mailboxes: ['email3@example.com'] });

    const isdel = directoryFor('isdel');
    expect(await isdel.resolve('info@example.org')).toMatchObject({ mailboxes: ['alice@example.org'] });
    expect(await isdel.resolve('sales@example.org')).toEqual({ kind: 'unknown' });
    expect(await isdel.resolve('x@deleted.example')).toEqual({ kind: 'foreign' });

    const pfa = directoryFor('postfixadmin');
    expect(await pfa.resolve('both@example.net')).toEqual({ kind: 'deliver', mailboxes: ['carol@example.net', 'frank@example.net'], forwards: [] });
    expect(await pfa.resolve('carol@alias.example')).toMatchObject({ mailboxes: ['carol@example.net'] });
    expect(await pfa.resolve('abuse@alias.example')).toMatchObject({ mailboxes: ['carol@example.net'] });
    expect(await pfa.resolve('nobody@alias.example')).toEqual({ kind: 'unknown' });
    expect(await pfa.isLocalDomain('alias.example')).toBe(true);
  });

  it('CLI: user, alias and domain commands write the preset schema; auth test reads it', async () => {
    await server.createDatabase('cli_platform');
    await server.loadSql(schemaFile('platform'), 'cli_platform');
    const config = path.join(dir, 'cli.toml');
    await writeFile(config, configText(server, 'cli_platform', 'platform'));
    const c = (args: string[], stdin = '') => cli([...args, '--config', config], stdin);

    expect((await c(['user', 'add', 'zoe@example.com', '--quota', '2G', '--password-stdin'], 'zoe-pass\n')).code).toBe(0);
    const [row] = (await server.query('SELECT password_hash, storage_quota, is_active FROM mail_mailboxes WHERE email = ?', ['zoe@example.com'], 'cli_platform')) as Record<string, unknown>[];
    expect(row).toMatchObject({ storage_quota: 2048, is_active: 1 });
    expect(String(row!.password_hash)).toMatch(/^\$6\$/);
    const auth = await c(['auth', 'test', 'zoe@example.com'], 'zoe-pass\n');
    expect(auth.stdout).toContain('quota: 2G');
    expect(auth.stdout).toContain('mail: maildir:/var/mail/vhosts/example.com/zoe');
    expect((await c(['alias', 'add', 'sales@example.com', 'zoe@example.com'])).code).toBe(0);
    expect((await c(['alias', 'list'])).stdout).toContain('sales@example.com zoe@example.com');
    expect((await c(['user', 'list'])).stdout).toContain('zoe@example.com');
    expect((await c(['user', 'del', 'zoe@example.com'])).code).toBe(0);
    expect((await c(['auth', 'test', 'zoe@example.com'], 'zoe-pass\n')).stderr).toContain('unknown user');
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
    const refused = await cli(['user', 'add', 'x@example.com', '--password-stdin', '--config', custom], 'x\n');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('custom queries');
    const customAuth = await cli(['auth', 'test', 'alice@example.com', '--config', custom], 'alice-pass\n');
    expect(customAuth.code).toBe(0);
    expect(customAuth.stdout).toContain('mail: maildir:/srv/mail/example.com/alice');
    const badQuery = path.join(dir, 'bad.toml');
    await writeFile(badQuery, configText(server, 'cli_platform', 'custom', '[directory.mysql.queries]\ndomain = "SELECT 1 WHERE x = \'%q\'"\n'));
    const check = await cli(['config', 'check', '--config', badQuery]);
    expect(check.code).toBe(1);
    expect(check.stderr).toMatch(/mailbox|%q/);
  });

  it('MySQL down: logins, lookups and the CLI report a temporary failure, then recover', async () => {
    const d = directoryFor('platform');
    expect(await d.authenticate('alice@example.com', 'alice-pass')).not.toBeNull();
    const config = path.join(dir, 'down.toml');
    await writeFile(config, configText(server, 'platform', 'platform'));
    await server.kill();
    try {
      // a different password: the verify cache must not hide the outage
      await expect(d.authenticate('alice@example.com', 'other')).rejects.toThrow(TempFailure);
      await expect(d.resolve('team@example.com')).rejects.toThrow(TempFailure);
      await expect(d.addressExists('alice@example.com')).rejects.toThrow(TempFailure);
      await expect(d.lookupUser('alice@example.com')).rejects.toThrow(TempFailure);
      const r = await cli(['auth', 'test', 'alice@example.com', '--config', config], 'alice-pass\n');
      expect(r.code).toBe(75);
      expect(r.stderr).toContain('temporary failure');
    } finally {
      await server.restart();
    }
    expect(await d.authenticate('alice@example.com', 'alice-pass')).not.toBeNull();
    expect(await d.addressExists('team@example.com')).toBe(true);
  });
});
