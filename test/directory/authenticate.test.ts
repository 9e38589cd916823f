/**
 * Directory.authenticate against a real passwd-file and the real password hasher, with a
 * recording wrapper around the hasher to see which stored hashes were checked: unknown users are
 * checked against a dummy hash of the default scheme (so they cost what real ones do), and
 * passwords of 512 bytes and more are refused before any lookup or hashing.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { cryptSync } from '../../src/directory/schemes/crypt/crypt.js';
import { Directory, type PasswordVerifier } from '../../src/directory/directory.js';
import { PasswdFileBackend } from '../../src/directory/passwd-file/backend.js';
import { PasswordHasher } from '../../src/directory/schemes/index.js';
import { tempDir } from '../helpers/tmp.js';

const LATIN1 = Buffer.from('s\xe9same', 'latin1');

describe('Directory.authenticate', () => {
  let cleanup: () => Promise<void>;
  let hasher: PasswordHasher;
  let directory: Directory;
  const checked: string[] = [];

  beforeAll(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    await writeFile(path.join(dir, 'users'), [
      `alice@example.test:{SHA512-CRYPT}${cryptSync('$6$alicesalt012345$', 'alice-pw')}:::::`,
      `bob@example.test:{SHA512-CRYPT}${cryptSync('$6$bobsalt01234567$', LATIN1)}:::::`,
      `carol@example.test:{PLAIN}${'x'.repeat(512)}:::::`,
      'nologin@example.test::::::',
    ].join('\n') + '\n');
    await writeFile(path.join(dir, 'aliases'), '');
    const backend = new PasswdFileBackend({
      passwdFile: path.join(dir, 'users'), aliasesFile: path.join(dir, 'aliases'), domainsFile: path.join(dir, 'domains'), configDomains: ['example.test'],
    });
    hasher = new PasswordHasher({ defaultScheme: 'SHA512-CRYPT', workers: 1, cacheTtlMs: 0 });
    const recording: PasswordVerifier = {
      verify: (stored, password, client) => {
        checked.push(stored);
        return hasher.verify(stored, password, client);
      },
      hash: (password) => hasher.hash(password),
    };
    directory = new Directory(backend, recording, { mailLocation: `maildir:${dir}/vmail/%d/%n`, recipientDelimiter: '+' }, silentLogger);
  });
  afterAll(async () => {
    await hasher.close();
    await cleanup?.();
  });

  it('logs a known user in, and checks unknown users against one dummy hash of the default scheme', async () => {
    checked.length = 0;
    expect((await directory.authenticate('alice@example.test', 'alice-pw'))?.user).toBe('alice@example.test');
    expect(await directory.authenticate('alice@example.test', 'wrong')).toBeNull();
    expect(await directory.authenticate('ghost@example.test', 'alice-pw')).toBeNull();
    expect(await directory.authenticate('nologin@example.test', '')).toBeNull();
    expect(await directory.authenticate('not an address', 'x')).toBeNull();
    expect(checked).toHaveLength(5);
    const dummies = checked.slice(2);
    expect(dummies[0]).toMatch(/^\{SHA512-CRYPT\}\$6\$/);
    expect(dummies[0]).not.toBe(checked[0]);
    expect(new Set(dummies).size).toBe(1); // made once
  });

  it('never trims a user name into another user', async () => {
    checked.length = 0;
    expect(await directory.authenticate(' alice@example.test', 'alice-pw')).toBeNull();
    expect(await directory.authenticate('alice@example.test\n', 'alice-pw')).toBeNull();
    // checked, but only against the dummy hash
    expect(checked).toHaveLength(2);
    expect(checked.every((s) => !s.includes('alicesalt'))).toBe(true);
  });

  it('compares password bytes: a non-UTF-8 password is not its U+FFFD look-alike', async () => {
    expect((await directory.authenticate('bob@example.test', LATIN1))?.user).toBe('bob@example.test');
    expect(await directory.authenticate('bob@example.test', LATIN1.toString('utf8'))).toBeNull();
  });

  it('refuses passwords of 512 bytes and more without looking them up or hashing them', async () => {
    checked.length = 0;
    expect(await directory.authenticate('carol@example.test', 'x'.repeat(512))).toBeNull();
    expect(await directory.authenticate('carol@example.test', Buffer.alloc(16 * 1024, 0x78))).toBeNull();
    expect(checked).toEqual([]);
  });
});
