import { readFile, writeFile, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInput, NotFound } from '../../src/core/errors.js';
import { parseAliasMap, formatAliasMap } from '../../src/directory/passwd-file/alias-map.js';
import { PasswdFileBackend } from '../../src/directory/passwd-file/backend.js';
import { parsePasswdLine, toUserEntry } from '../../src/directory/passwd-file/format.js';
import { fixturesDir, tempDir } from '../helpers/tmp.js';

const fixture = path.join(fixturesDir, 'passwd-file', 'users');
const FIXTURE_USERS = ['ada@quay.test', 'bruno@quay.test', 'chen@quay.test', 'dalia@quay.test', 'emil@quay.test', 'fatou@quay.test', 'gerd@quay.test'];

describe('passwd-file format', () => {
  it('parses every line of the fixture in Dovecot format', async () => {
    const lines = (await readFile(fixture, 'utf8')).split('\n').map(parsePasswdLine).filter((l) => l !== null);
    expect(lines.map((l) => l.user)).toEqual(FIXTURE_USERS);
    const ada = toUserEntry(lines[0]!);
    expect(ada).toMatchObject({ user: 'ada@quay.test', password: '{PLAIN}anchor-ada', uid: 'mail', gid: 'mail', home: '/var/mail/vhosts/quay.test/ada' });
    const bruno = toUserEntry(lines[1]!);
    expect(bruno.uid).toBe(5000);
    expect(bruno.quotaRules).toEqual(['*:storage=10M']);
    expect(bruno.password).toMatch(/^\{SHA512-CRYPT\}\$6\$/);
    const gerd = toUserEntry(lines[6]!);
    expect(gerd).toMatchObject({ user: 'gerd@quay.test', uid: 5000, gid: 5000, mail: 'maildir:/srv/mail/quay.test/gerd' });
    expect(gerd.home).toBeUndefined();
    expect(gerd.password).toMatch(/^\{SSHA512\}/);
  });

  it('reads userdb_ extra fields, including seed 003 style userdb_mail', () => {
    const p = parsePasswdLine('bob@x.test:{PLAIN}pw:5000:5000::::userdb_mail=maildir:/srv/x.test/bob userdb_quota_rule=*:bytes=100 userdb_quota_rule2=Trash:storage=+10M')!;
    expect(toUserEntry(p)).toMatchObject({ mail: 'maildir:/srv/x.test/bob', quotaRules: ['*:bytes=100', 'Trash:storage=+10M'] });
  });

  it('ignores comments and blank lines; short lines are allowed', () => {
    expect(parsePasswdLine('# x:y')).toBeNull();
    expect(parsePasswdLine('   ')).toBeNull();
    expect(toUserEntry(parsePasswdLine('carol@x.test:{PLAIN}c')!)).toEqual({ user: 'carol@x.test', password: '{PLAIN}c' });
    expect(toUserEntry(parsePasswdLine('nologin@x.test:')!).password).toBeNull();
  });
});

describe('Postfix text alias map', () => {
  it('parses continuation lines, commas, catch-alls and comments', () => {
    const entries = parseAliasMap([
      '# comment',
      'info@example.test  alice@example.test',
      'Team@Example.test  alice@example.test, bob@example.test',
      '    carol@example.test',
      '@example.test catchall@example.test',
      'postmaster: alice@example.test',
      '',
    ].join('\n'));
    expect(entries).toEqual([
      { source: 'info@example.test', destinations: ['alice@example.test'] },
      { source: 'team@example.test', destinations: ['alice@example.test', 'bob@example.test', 'carol@example.test'] },
      { source: '@example.test', destinations: ['catchall@example.test'] },
      { source: 'postmaster', destinations: ['alice@example.test'] },
    ]);
    expect(parseAliasMap(formatAliasMap(entries))).toEqual(entries);
  });
});

describe('PasswdFileBackend', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let backend: PasswdFileBackend;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    await copyFile(fixture, path.join(dir, 'users'));
    backend = new PasswdFileBackend({
      passwdFile: path.join(dir, 'users'),
      aliasesFile: path.join(dir, 'aliases'),
      domainsFile: path.join(dir, 'domains'),
      configDomains: ['quay.test'],
      checkIntervalMs: 0,
    });
  });
  afterEach(() => cleanup());

  it('answers lookups from the fixture', async () => {
    expect(await backend.isLocalDomain('QUAY.test')).toBe(true);
    expect(await backend.isLocalDomain('other.test')).toBe(false);
    expect(await backend.mailboxExists('Bruno@quay.test')).toBe(true);
    expect(await backend.mailboxExists('nobody@quay.test')).toBe(false);
    expect((await backend.findUser('chen@quay.test'))?.password).toMatch(/^\{SHA256-CRYPT\}/);
    expect(await backend.findUser("' OR 1=1 --")).toBeNull();
  });

  it('re-reads the passwd-file when another process changes it', async () => {
    expect(await backend.mailboxExists('new@quay.test')).toBe(false);
    const text = await readFile(path.join(dir, 'users'), 'utf8');
    await writeFile(path.join(dir, 'users'), text + 'new@quay.test:{PLAIN}x:::::\n');
    expect(await backend.mailboxExists('new@quay.test')).toBe(true);
  });

  it('adds, lists, re-passwords and deletes users atomically', async () => {
    await backend.addUser({ address: 'zed@quay.test', password: '{PLAIN}zz', quotaBytes: 1024 ** 3 });
    expect(await backend.listUsers()).toContain('zed@quay.test');
    expect((await backend.findUser('zed@quay.test'))?.quotaRules).toEqual(['*:bytes=1073741824']);
    await expect(backend.addUser({ address: 'zed@quay.test', password: '{PLAIN}x', quotaBytes: null })).rejects.toThrow(InvalidInput);
    await expect(backend.addUser({ address: 'x@elsewhere.test', password: '{PLAIN}x', quotaBytes: null })).rejects.toThrow(/not local/);
    await backend.setPassword('zed@quay.test', '{PLAIN}new');
    expect((await backend.findUser('zed@quay.test'))?.password).toBe('{PLAIN}new');
    // the comment header and the other users survive edits
    const text = await readFile(path.join(dir, 'users'), 'utf8');
    expect(text).toMatch(/^# Dovecot passwd-file/);
    expect(text).toContain('bruno@quay.test:{SHA512-CRYPT}');
    expect(text).toContain('# Passwords: ada@quay.test / anchor-ada');
    await backend.deleteUser('zed@quay.test');
    expect(await backend.findUser('zed@quay.test')).toBeNull();
    await expect(backend.deleteUser('zed@quay.test')).rejects.toThrow(NotFound);
    await expect(backend.setPassword('ghost@quay.test', '{PLAIN}x')).rejects.toThrow(NotFound);
  });

  it('manages domains and aliases', async () => {
    await backend.addDomain('new.test');
    expect(await backend.listDomains()).toEqual(['new.test', 'quay.test']);
    await expect(backend.addDomain('new.test')).rejects.toThrow(/already exists/);
    await expect(backend.deleteDomain('quay.test')).rejects.toThrow(/config file/);
    await backend.deleteDomain('new.test');
    expect(await backend.isLocalDomain('new.test')).toBe(false);

    await backend.addAlias('team@quay.test', 'bruno@quay.test');
    await backend.addAlias('team@quay.test', 'chen@quay.test');
    expect(await backend.aliasTargets('TEAM@quay.test')).toEqual(['bruno@quay.test', 'chen@quay.test']);
    await backend.deleteAlias('team@quay.test', 'bruno@quay.test');
    expect(await backend.aliasTargets('team@quay.test')).toEqual(['chen@quay.test']);
    await backend.deleteAlias('team@quay.test');
    expect(await backend.listAliases()).toEqual([]);
    await expect(backend.deleteAlias('team@quay.test')).rejects.toThrow(NotFound);
  });

  it('serializes concurrent writers through the lock file', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => backend.addUser({ address: `u${i}@quay.test`, password: '{PLAIN}x', quotaBytes: null })));
    const users = await backend.listUsers();
    for (let i = 0; i < 20; i++) expect(users).toContain(`u${i}@quay.test`);
    expect(users).toHaveLength(20 + FIXTURE_USERS.length);
    for (const u of FIXTURE_USERS) expect(users).toContain(u);
  });
});
