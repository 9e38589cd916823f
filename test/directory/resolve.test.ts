import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TempFailure } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { PasswdFileBackend } from '../../src/directory/passwd-file/backend.js';
import { AliasResolver } from '../../src/directory/resolve.js';
import { tempDir } from '../helpers/tmp.js';

const USERS = ['alice', 'bob', 'carol', 'catchall', 'dan'].map((u) => `${u}@example.test:{PLAIN}x:::::`).join('\n');
const ALIASES = `
info@example.test       alice@example.test
team@example.test       alice@example.test, bob@example.test
    carol@example.test
all@example.test        team@example.test, info@example.test
loop1@example.test      loop2@example.test
loop2@example.test      loop1@example.test, bob@example.test
self@example.test       self@example.test
carol@example.test      carol@example.test, carol@elsewhere.example
fwd@example.test        someone@remote.example
tagged+vip@example.test dan@example.test
bad@example.test        not-an-address, bob@example.test
@catch.example          catchall@example.test
@alias.example          @example.test
deep0@example.test      deep1@example.test
`;

describe('alias resolution (Postfix virtual(5) semantics)', () => {
  let cleanup: () => Promise<void>;
  let r: AliasResolver;

  beforeAll(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    // a chain longer than the recursion limit
    const deep = Array.from({ length: 150 }, (_, i) => `deep${i + 1}@example.test deep${i + 2}@example.test`).join('\n');
    await writeFile(path.join(dir, 'users'), USERS + '\n');
    await writeFile(path.join(dir, 'aliases'), ALIASES + deep + '\n');
    await writeFile(path.join(dir, 'domains'), 'catch.example\nalias.example\n');
    const backend = new PasswdFileBackend({
      passwdFile: path.join(dir, 'users'), aliasesFile: path.join(dir, 'aliases'), domainsFile: path.join(dir, 'domains'),
      configDomains: ['example.test'],
    });
    r = new AliasResolver(backend, '+', silentLogger);
  });
  afterAll(() => cleanup());

  const mailboxes = async (a: string) => {
    const res = await r.resolve(a);
    return res.kind === 'deliver' ? res.mailboxes.sort() : res.kind;
  };

  it('delivers to mailboxes directly', async () => {
    expect(await r.resolve('Alice@Example.TEST')).toEqual({ kind: 'deliver', mailboxes: ['alice@example.test'], forwards: [] });
  });

  it('follows aliases, multi-destination lists and continuation lines', async () => {
    expect(await mailboxes('info@example.test')).toEqual(['alice@example.test']);
    expect(await mailboxes('team@example.test')).toEqual(['alice@example.test', 'bob@example.test', 'carol@example.test']);
  });

  it('expands recursively and de-duplicates', async () => {
    expect(await mailboxes('all@example.test')).toEqual(['alice@example.test', 'bob@example.test', 'carol@example.test']);
  });

  it('cuts loops but keeps what else the loop reaches', async () => {
    expect(await mailboxes('loop1@example.test')).toEqual(['bob@example.test']);
  });

  it('treats an address aliased to itself as final', async () => {
    expect(await r.resolve('self@example.test')).toEqual({ kind: 'unknown' });
    expect(await r.resolve('carol@example.test')).toEqual({
      kind: 'deliver', mailboxes: ['carol@example.test'], forwards: ['carol@elsewhere.example'],
    });
  });

  it('reports forwards to foreign domains', async () => {
    expect(await r.resolve('fwd@example.test')).toEqual({ kind: 'deliver', mailboxes: [], forwards: ['someone@remote.example'] });
  });

  it('handles plus addressing', async () => {
    expect(await mailboxes('alice+lists@example.test')).toEqual(['alice@example.test']);
    expect(await mailboxes('team+x@example.test')).toEqual(['alice@example.test', 'bob@example.test', 'carol@example.test']);
    // an explicit alias for the extended address wins over the base address
    expect(await mailboxes('tagged+vip@example.test')).toEqual(['dan@example.test']);
    expect(await r.resolve('tagged+other@example.test')).toEqual({ kind: 'unknown' });
    expect(await r.resolve('nobody+x@example.test')).toEqual({ kind: 'unknown' });
  });

  it('uses catch-alls for unknown addresses, but mailboxes win', async () => {
    expect(await mailboxes('anything@catch.example')).toEqual(['catchall@example.test']);
  });

  it('maps alias domains (@alias → @target) keeping the local part', async () => {
    expect(await mailboxes('bob@alias.example')).toEqual(['bob@example.test']);
    expect(await mailboxes('team@alias.example')).toEqual(['alice@example.test', 'bob@example.test', 'carol@example.test']);
    expect(await r.resolve('ghost@alias.example')).toEqual({ kind: 'unknown' });
  });

  it('skips invalid destinations', async () => {
    expect(await mailboxes('bad@example.test')).toEqual(['bob@example.test']);
  });

  it('distinguishes unknown local addresses from foreign domains', async () => {
    expect(await r.resolve('nobody@example.test')).toEqual({ kind: 'unknown' });
    expect(await r.resolve('someone@gmail.example')).toEqual({ kind: 'foreign' });
  });

  it('defers (temp failure) instead of bouncing an unreasonable expansion', async () => {
    await expect(r.resolve('deep0@example.test')).rejects.toThrow(TempFailure);
  });
});
