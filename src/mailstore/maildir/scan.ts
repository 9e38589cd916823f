import { statSync } from 'node:fs';
import { readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { TempFailure } from '../../core/errors.js';
import { parseMaildirName } from './filename.js';

export interface ScannedFile {
  sub: 'new' | 'cur';
  /** File name inside new/ or cur/. */
  file: string;
  /** Flag characters after `:2,`. */
  flags: string;
  size?: number;
  vsize?: number;
}

export interface ScanResult {
  files: Map<string, ScannedFile>;
  /** mtimes (ns) of new/ and cur/ as they were before the listing: unchanged ⇒ nothing to rescan. */
  signature: string;
}

/** Dovecot's own recheck limit for a directory that keeps changing while it is listed. */
const MAX_ATTEMPTS = 5;

/**
 * Lists new/ then cur/ (in that order: a file Dovecot moves from new/ to cur/ meanwhile is then
 * seen at least once). readdir() may miss an entry renamed while the directory is being read
 * (POSIX leaves it unspecified), so the listing is repeated when a directory's mtime changed
 * during it, as Dovecot's maildir-sync does; otherwise a flag change by another process could
 * look like an expunge.
 */
export async function scanFolder(dir: string): Promise<ScanResult> {
  for (let attempt = 1; ; attempt++) {
    const before = await signatureOf(dir);
    const files = new Map<string, ScannedFile>();
    for (const sub of ['new', 'cur'] as const) {
      let names: string[];
      try {
        names = await readdir(path.join(dir, sub));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw new TempFailure(`cannot list ${sub}/ of ${dir}`, err);
      }
      for (const file of names) {
        if (file.startsWith('.')) continue;
        const n = parseMaildirName(file);
        // Dovecot may leave a message in new/ with flags in its name (`new/X:2,S`): read them there too.
        const entry: ScannedFile = { sub, file, flags: n.flags };
        if (n.size !== undefined) entry.size = n.size;
        if (n.vsize !== undefined) entry.vsize = n.vsize;
        // The same message in new/ and cur/ is one being moved: cur/ is where it ends up.
        files.set(n.base, entry);
      }
    }
    const after = await signatureOf(dir);
    if (after === before || attempt >= MAX_ATTEMPTS) return { files, signature: after };
  }
}

/**
 * new/ and cur/ as they are now (inode and mtime). Taken at every command of every session
 * (folder sync): stat() is called directly, as an asynchronous one costs ~150 µs of CPU in
 * thread-pool hand-offs against a few µs for the system call on a directory in the cache.
 */
export async function signatureOf(dir: string): Promise<string> {
  return signatureNow(dir);
}

/** signatureOf() without the promise, for marking the start and end of a change of our own. */
export function signatureNow(dir: string): string {
  return `${statSignature(path.join(dir, 'new'))}/${statSignature(path.join(dir, 'cur'))}`;
}

function statSignature(p: string): string {
  try {
    const s = statSync(p, { bigint: true, throwIfNoEntry: false });
    return s ? `${s.ino}:${s.mtimeNs}` : 'none';
  } catch {
    return 'none';
  }
}

/** Dovecot deletes tmp/ files older than 36 hours (maildir_tmp_cleanup): leftovers of crashes. */
const TMP_MAX_AGE_MS = 36 * 3600 * 1000;

export async function cleanTmp(dir: string, nowMs: number): Promise<number> {
  const tmp = path.join(dir, 'tmp');
  let removed = 0;
  for (const name of await readdir(tmp).catch(() => [] as string[])) {
    const file = path.join(tmp, name);
    const st = await stat(file).catch(() => undefined);
    if (st?.isFile() && st.mtimeMs < nowMs - TMP_MAX_AGE_MS) {
      await unlink(file).then(() => removed++, () => {});
    }
  }
  // Lock temp files of a process killed while taking dovecot-uidlist.lock (uidlist-lock.ts).
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!/^dovecot-uidlist\.lock\.[0-9a-f]+\.tmp$/.test(name)) continue;
    const st = await stat(path.join(dir, name)).catch(() => undefined);
    if (st && st.mtimeMs < nowMs - 3600_000) await unlink(path.join(dir, name)).then(() => removed++, () => {});
  }
  return removed;
}
