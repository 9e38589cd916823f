import { chown, lchown, lstat, mkdir, open, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../core/errors.js';
import type { ServiceAccount } from './service-account.js';

/**
 * Creates `dir` if needed and proves it is writable by writing and fsyncing a probe file, so that
 * a read-only mount or wrong owner shows at start-up with the config key named, not at the first
 * delivery.
 */
export async function ensureWritableDir(dir: string, key: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o750 });
    const probe = path.join(dir, `.tsmail-write-test.${process.pid}`);
    const fh = await open(probe, 'w', 0o600);
    try {
      await fh.writeFile('ok');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await unlink(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    const uid = process.getuid?.();
    throw new ConfigError(`${key}: directory ${dir} is not writable (${code}) by uid ${uid}`);
  }
}

/**
 * Before a root-started daemon switches to the service account: creates `dir` if needed and gives
 * what this call created (the directory and any missing parents) to the account. A directory
 * that already existed is the operator's and keeps its owner: whether the account can write
 * there is checked after the switch (ensureWritableDir as that account).
 */
export async function createOwnedDir(dir: string, key: string, account: ServiceAccount): Promise<void> {
  try {
    const first = await mkdir(dir, { recursive: true, mode: 0o750 });
    if (first === undefined) return;
    // mkdir -p returns the first directory it made; every one from there down to `dir` is new.
    for (let d = path.resolve(dir); ; d = path.dirname(d)) {
      await chown(d, account.uid, account.gid);
      if (d === path.resolve(first) || d === path.dirname(d)) break;
    }
  } catch (err) {
    throw new ConfigError(`${key}: cannot create ${dir} for ${account.user}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * Gives one of tsmail's own state directories (the queue's, the self-signed certificate's) and
 * the files directly in it to the service account, as `postfix set-permissions` does for the
 * queue: they were made by an earlier run as root, or by this start before the switch. Only when
 * the directory's owner is wrong, so a normal start costs one lstat; never recursive beyond one
 * level (a subdirectory is claimed by its own call), never through symlinks (lchown), and never
 * outside data_dir (the callers' paths).
 * Returns how many entries changed owner.
 */
export async function claimStateDir(dir: string, account: ServiceAccount): Promise<number> {
  const st = await lstat(dir);
  if (!st.isDirectory() || (st.uid === account.uid && st.gid === account.gid)) return 0;
  let changed = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    // Subdirectories are claimed by their own call (deepest first), symlinks never followed.
    if (!entry.isFile()) continue;
    const file = path.join(dir, entry.name);
    const s = await lstat(file);
    if (s.uid !== account.uid || s.gid !== account.gid) {
      await lchown(file, account.uid, account.gid);
      changed++;
    }
  }
  await lchown(dir, account.uid, account.gid);
  return changed + 1;
}
