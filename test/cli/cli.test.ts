import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { runTsmail } from '../helpers/daemon.js';
import { fixturesDir, tempDir } from '../helpers/tmp.js';

describe('tsmail CLI (passwd-file backend)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  const c = (args: string[], stdin = '') => cli([...args, '--config', config], stdin);

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    config = path.join(dir, 'tsmail.toml');
    await writeFile(config, 'data_dir = "data"\n[directory]\ndomains = ["example.test"]\n');
  });
  afterAll(() => cleanup());

  it('adds a user with a SHA512-CRYPT password and quota, and auth test accepts it', async () => {
    const add = await c(['user', 'add', 'Alice@Example.test', '--quota', '1G', '--password-stdin'], 'secret pass\n');
    expect(add).toMatchObject({ code: 0, stdout: 'added user alice@example.test (quota 1G)\n' });
    const users = await readFile(path.join(dir, 'data/users'), 'utf8');
    expect(users).toMatch(/^alice@example\.test:\{SHA512-CRYPT\}\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}:::::.*:userdb_quota_rule=\*:bytes=1073741824\n$/);

    const ok = await c(['auth', 'test', 'alice@example.test'], 'secret pass\n');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('auth succeeded: alice@example.test');
    expect(ok.stdout).toContain(`mail: maildir:${path.join(dir, 'data/vmail/example.test/alice')}`);
    expect(ok.stdout).toContain('quota: 1G (1073741824 bytes)');
  });

  it('auth test fails with the reason', async () => {
    const wrong = await c(['auth', 'test', 'alice@example.test'], 'nope\n');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('wrong password');
    const unknown = await c(['auth', 'test', 'ghost@example.test'], 'x\n');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown user');
    const injection = await c(['auth', 'test', "' OR 1=1 --"], 'x\n');
    expect(injection.code).toBe(1);
  });

  it('changes passwords', async () => {
    expect((await c(['user', 'passwd', 'alice@example.test', '--password-stdin'], 'n3w\n')).code).toBe(0);
    expect((await c(['auth', 'test', 'alice@example.test'], 'n3w\n')).code).toBe(0);
    expect((await c(['auth', 'test', 'alice@example.test'], 'secret pass\n')).code).toBe(1);
  });

  it('lists and deletes users; refuses bad input', async () => {
    await c(['user', 'add', 'bob@example.test', '--password-stdin'], 'b\n');
    expect((await c(['user', 'list'])).stdout).toBe('alice@example.test\nbob@example.test\n');
    expect(await c(['user', 'del', 'bob@example.test'])).toMatchObject({ code: 0 });
    expect((await c(['user', 'list'])).stdout).toBe('alice@example.test\n');
    const dup = await c(['user', 'add', 'alice@example.test', '--password-stdin'], 'x\n');
    expect(dup).toMatchObject({ code: 1 });
    expect(dup.stderr).toContain('already exists');
    const foreign = await c(['user', 'add', 'x@other.test', '--password-stdin'], 'x\n');
    expect(foreign.stderr).toContain('tsmail domain add other.test');
    for (const bad of ['../../etc/passwd@example.test', 'a/b@example.test', 'nodomain']) {
      const r = await c(['user', 'add', bad, '--password-stdin'], 'x\n');
      expect(r.code, bad).toBe(1);
    }
    const noPw = await c(['user', 'add', 'carl@example.test', '--password-stdin'], '');
    expect(noPw.stderr).toContain('no password');
    expect((await c(['user', 'add', 'carl@example.test', '--quota', 'lots', '--password-stdin'], 'x\n')).stderr).toContain('--quota');
    expect((await c(['user', 'del', 'ghost@example.test'])).stderr).toContain('no such user');
  });

  it('manages domains and aliases', async () => {
    expect(await c(['domain', 'add', 'Other.TEST'])).toMatchObject({ code: 0, stdout: 'added domain other.test\n' });
    expect((await c(['domain', 'list'])).stdout).toBe('example.test\nother.test\n');
    expect((await c(['alias', 'add', 'info@other.test', 'alice@example.test'])).code).toBe(0);
    expect((await c(['alias', 'add', '@other.test', 'alice@example.test'])).code).toBe(0);
    expect((await c(['alias', 'list'])).stdout).toBe('info@other.test alice@example.test\n@other.test alice@example.test\n');
    expect((await c(['alias', 'add', 'x@nowhere.test', 'alice@example.test'])).stderr).toContain('not local');
    expect((await c(['alias', 'del', '@other.test'])).code).toBe(0);
    expect((await c(['alias', 'list'])).stdout).toBe('info@other.test alice@example.test\n');
    expect((await c(['domain', 'del', 'other.test'])).code).toBe(0);
    expect((await c(['domain', 'del', 'example.test'])).stderr).toContain('config file');
  });

  it('config check prints the effective config or names the bad key', async () => {
    const ok = await c(['config', 'check']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`data_dir = "${path.join(dir, 'data')}"`);
    expect(ok.stdout).toContain('smtp = "127.0.0.1:2525"');
    expect(ok.stdout).toContain('max_message_size = 52428800');
    const bad = path.join(dir, 'bad.toml');
    await writeFile(bad, '[mail]\nmax_message_size = "big"\nfoo = 1\n');
    const r = await cli(['config', 'check', '--config', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('mail.max_message_size: invalid size');
    expect(r.stderr).toContain('mail.foo: unknown key');
  });

  it('takes the config from TSMAIL_CONFIG', async () => {
    const r = await cli(['user', 'list'], '', { TSMAIL_CONFIG: config });
    expect(r.stdout).toBe('alice@example.test\n');
  });

  it('masks the MySQL password in config check', async () => {
    const f = path.join(dir, 'my.toml');
    await writeFile(f, '[directory]\nbackend = "mysql"\n[directory.mysql]\npassword = "hunter2"\n');
    const r = await cli(['config', 'check', '--config', f]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('hunter2');
    expect(r.stdout).toContain('password = "********"');
  });
});

describe('tsmail CLI against the fixture passwd-file', () => {
  // Fourteen runs of the real binary, each a Node start with tsx: 2-3 s on an idle 2-CPU machine, up
  // to 8 s when it is shared; the timeout only guards against a hang.
  it('verifies every fixture user with its password through the real binary', { timeout: 300_000 }, async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const config = path.join(dir, 'tsmail.toml');
      await writeFile(config, `data_dir = "."\n[directory]\npasswd_file = "${path.join(fixturesDir, 'passwd-file', 'users')}"\ndomains = ["quay.test"]\n`);
      const cases: [string, string, string][] = [
        ['ada@quay.test', 'anchor-ada', 'quota: unlimited'],
        ['bruno@quay.test', 'bollard-bruno', 'quota: 10M (10485760 bytes)'],
        ['chen@quay.test', 'crane-chen', 'uid: 5000'],
        ['dalia@quay.test', 'dinghy-dalia', `mail: maildir:${path.join(dir, 'vmail/quay.test/dalia')}`],
        ['emil@quay.test', 'eddy-emil', 'auth succeeded: emil@quay.test'],
        ['fatou@quay.test', 'ferry-fatou', 'auth succeeded: fatou@quay.test'],
        ['gerd@quay.test', 'gangway-gerd', 'mail: maildir:/srv/mail/quay.test/gerd'],
      ];
      for (const [user, pw, expected] of cases) {
        const [ok, bad] = await Promise.all([
          runTsmail(['auth', 'test', user, '--config', config], pw + '\n'),
          runTsmail(['auth', 'test', user, '--config', config], pw + 'x\n'),
        ]);
        expect(ok.code, `${user}: ${ok.stderr}`).toBe(0);
        expect(ok.stdout).toContain(expected);
        expect(bad.code, user).toBe(1);
        expect(bad.stderr, user).toContain('wrong password');
      }
    } finally {
      await cleanup();
    }
  });
});
