import { readFile, writeFile, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInput, NotFound } from '../../src/core/errors.js';
import { parseAliasMap, formatAliasMap } from '../../src/directory/passwd-file/alias-map.js';
import { PasswdFileBackend } from '../../src/directory/passwd-file/backend.js';
import { parsePasswdLine, toUserEntry } from '../../src/directory/passwd-file/format.js';
import { sharedDir, tempDir } from '../helpers/tmp.js';

const fixture = path.join(sharedDir, 'fixtures/passwd-file/users');

describe('passwd-file format', () => {
  it('parses every line of the fixture in Dovecot format', async () => {
    const lines = (await readFile(fixture, 'utf8')).split('\n').map(parsePasswdLine).filter((l) => l !== null);
    expect(lines.map((l) => l.user)).toEqual(['test@test.local', 'alice@test.local', 'dave@test.local', 'mo@test.local', 'old@test.local']);
    const test = toUserEntry(lines[0]!);
    expect(test).toMatchObject({ user: 'test@test.local', password: '{PLAIN}illegall', uid: 'mail', gid: 'mail', home: '/var/mail/vhosts/test.local/test' });
    const alice = toUserEntry(lines[1]!);
    expect(alice.uid).toBe(5000);
    expect(alice.quotaRules).toEqual(['*:storage=10M']);
    expect(alice.password).toMatch(/^\{SHA512-CRYPT\}\$6\$/);
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
      configDomains: ['test.local'],
      checkIntervalMs: 0,
    });
  });
  afterEach(() => cleanup());

  it('answers lookups from the fixture', async () => {
    expect(await backend.isLocalDomain('TEST.local')).toBe(true);
    expect(await backend.isLocalDomain('other.test')).toBe(false);
    expect(await backend.mailboxExists('Alice@test.local')).toBe(true);
    expect(await backend.mailboxExists('nobody@test.local')).toBe(false);
    expect((await backend.findUser('dave@test.local'))?.password).toMatch(/^\{SHA256-CRYPT\}/);
    expect(await backend.findUser("' OR 1=1 --")).toBeNull();
  });

  it('re-reads the passwd-file when another process changes it', async () => {
    expect(await backend.mailboxExists('new@test.local')).toBe(false);
    const text = await readFile(path.join(dir, 'users'), 'utf8');
    await writeFile(path.join(dir, 'users'), text + 'new@test.local:{PLAIN}x:::::\n');
    expect(await backend.mailboxExists('new@test.local')).toBe(true);
  });

  it('adds, lists, re-passwords and deletes users atomically', async () => {
    await backend.addUser({ address: 'zed@test.local', password: '{PLAIN}zz', quotaBytes: 1024 ** 3 });
    expect(await backend.listUsers()).toContain('zed@test.local');
    expect((await backend.findUser('zed@test.local'))?.quotaRules).toEqual(['*:bytes=1073741824']);
    await expect(backend.addUser({ address: 'zed@test.local', password: '{PLAIN}x', quotaBytes: null })).rejects.toThrow(InvalidInput);
    await expect(backend.addUser({ address: 'x@elsewhere.test', password: '{PLAIN}x', quotaBytes: null })).rejects.toThrow(/not local/);
    await backend.setPassword('zed@test.local', '{PLAIN}new');
    expect((await backend.findUser('zed@test.local'))?.password).toBe('{PLAIN}new');
    // the comment header and the other users survive edits
    const text = await readFile(path.join(dir, 'users'), 'utf8');
    expect(text).toMatch(/^# Dovecot passwd-file/);
    expect(text).toContain('alice@test.local:{SHA512-CRYPT}');
    await backend.deleteUser('zed@test.local');
    expect(await backend.findUser('zed@test.local')).toBeNull();
    await expect(backend.deleteUser('zed@test.local')).rejects.toThrow(NotFound);
    await expect(backend.setPassword('ghost@test.local', '{PLAIN}x')).rejects.toThrow(NotFound);
  });

  it('manages domains and aliases', async () => {
    await backend.addDomain('new.test');
    expect(await backend.listDomains()).toEqual(['new.test', 'test.local']);
    await expect(backend.addDomain('new.test')).rejects.toThrow(/already exists/);
    await expect(backend.deleteDomain('test.local')).rejects.toThrow(/config file/);
    await backend.deleteDomain('new.test');
    expect(await backend.isLocalDomain('new.test')).toBe(false);

    await backend.addAlias('team@test.local', 'alice@test.local');
    await backend.addAlias('team@test.local', 'dave@test.local');
    expect(await backend.aliasTargets('TEAM@test.local')).toEqual(['alice@test.local', 'dave@test.local']);
    await backend.deleteAlias('team@test.local', 'alice@test.local');
    expect(await backend.aliasTargets('team@test.local')).toEqual(['dave@test.local']);
    await backend.deleteAlias('team@test.local');
    expect(await backend.listAliases()).toEqual([]);
    await expect(backend.deleteAlias('team@test.local')).rejects.toThrow(NotFound);
  });

  it('serializes concurrent writers through the lock file', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => backend.addUser({ address: `u${i}@test.local`, password: '{PLAIN}x', quotaBytes: null })));
    const users = await backend.listUsers();
    for (let i = 0; i < 20; i++) expect(users).toContain(`u${i}@test.local`);
    expect(users).toHaveLength(25);
  });
});
