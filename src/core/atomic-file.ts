import { open, rename, unlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { TempFailure } from './errors.js';

/**
 * Replaces `file` with `data` so that readers see either the old or the new content, and the
 * new content survives a crash once this resolves: write a temp file, fsync it, rename over the
 * original, fsync the directory. Keeps the old file's mode (e.g. 0600 for a passwd-file) and, when
 * run as root, its owner and group: `tsmail user add` run by root must leave a passwd-file made
 * readable to the service user (`chgrp vmail users; chmod 0640 users`) readable to it.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, defaultMode = 0o600): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const old = await stat(file).catch(() => null);
  const mode = old ? old.mode & 0o7777 : defaultMode;
  const fh = await open(tmp, 'wx', mode);
  try {
    if (old && process.getuid?.() === 0 && (old.uid !== 0 || old.gid !== 0)) await fh.chown(old.uid, old.gid);
    // open()'s mode passes through the umask: a group-writable file would lose its g+w.
    if (old) await fh.chmod(mode);
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fsyncDir(dir);
}

export async function fsyncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/**
 * Runs `fn` while holding `<file>.lock`, created with O_EXCL as Dovecot does for its own files,
 * so two `tsmail user add` processes (or a CLI and the daemon) never interleave read-modify-write.
 * A lock older than `staleMs` is taken over (its holder died).
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, opts = { timeoutMs: 10_000, staleMs: 30_000 }): Promise<T> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    try {
      const fh = await open(lock, 'wx', 0o600);
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > opts.staleMs) {
        await unlink(lock).catch(() => {});
        continue;
      }
      if (Date.now() > deadline) throw new TempFailure(`timed out waiting for lock ${lock}`);
      await sleep(20 + Math.random() * 30);
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lock).catch(() => {});
  }
}
