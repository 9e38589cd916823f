/**
 * writeFileAtomic keeps what the operator set on the file it replaces: its mode always, and its
 * owner and group when run as root, so `tsmail user add` run by root leaves a passwd-file that the
 * service user was given (`chgrp vmail users; chmod 0640 users`) readable to the service user.
 */
import { chmod, chown, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/core/atomic-file.js';
import { tempDir } from '../helpers/tmp.js';

const isRoot = process.getuid?.() === 0;
let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => cleanup?.());

describe('writeFileAtomic', () => {
  it('keeps the replaced file\'s mode, even one the umask would cut', async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    const file = path.join(dir, 'users');
    await writeFile(file, 'old\n');
    await chmod(file, 0o660);
    await writeFileAtomic(file, 'new\n');
    expect(await readFile(file, 'utf8')).toBe('new\n');
    expect((await stat(file)).mode & 0o7777).toBe(0o660);
  });

  it('gives a new file the default mode 0600', async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    const file = path.join(dir, 'fresh');
    await writeFileAtomic(file, 'x');
    expect((await stat(file)).mode & 0o7777).toBe(0o600);
  });

  // Changing a file's owner needs root; CI runs as root, so this runs there.
  it.runIf(isRoot)('run by root, keeps the replaced file\'s owner and group', async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    const file = path.join(dir, 'users');
    await writeFile(file, 'old\n');
    await chown(file, 65534, 65534);
    await chmod(file, 0o640);
    await writeFileAtomic(file, 'new\n');
    const st = await stat(file);
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([65534, 65534, 0o640]);
  });
});
