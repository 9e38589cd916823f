/**
 * The lock that guards dovecot-uidlist (and with it UID assignment and dovecot-keywords), spoken
 * the way Dovecot 2.3 speaks it, so tsmail sessions, other tsmail processes and a real Dovecot
 * on the same Maildir exclude each other (src/lib/file-dotlock.c, maildir-uidlist.c).
 *
 * - The lock is the file `dovecot-uidlist.lock` next to dovecot-uidlist, created with O_EXCL
 *   (dotlock_use_excl = yes, Dovecot's default) and holding `<pid>:<hostname>`, no LF
 *   (file_write_pid).
 * - Commit: the new dovecot-uidlist is written into the lock file, synced, and the lock file is
 *   renamed over dovecot-uidlist (file_dotlock_replace), then the directory is synced. Publishing
 *   and unlocking are one atomic step. (Dovecot itself writes dovecot-uidlist.tmp or appends to
 *   dovecot-uidlist while it holds the lock; readers see the same either way, because Dovecot
 *   notices a replaced file by its inode.) Without commit the lock file is deleted, but only if it
 *   is still ours (same inode: file_dotlock_delete).
 * - While held, the lock file's mtime is refreshed every 10 s (MAILDIR_LOCK_TOUCH_SECS), so
 *   nobody takes it for stale during a long operation.
 * - Waiting (dotlock_create/check_lock): poll the lock file. A lock is overridden when
 *   a) it is older than 2 s (STALE_PID_CHECK_SECS), names this host, and its pid is dead; or
 *   b) it names no live local pid and neither it nor dovecot-uidlist changed (inode, size,
 *      mtime, ctime) for the stale timeout, 120 s for dovecot-uidlist
 *      (MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT); the first sight of a file counts as a change at its
 *      mtime/ctime. A lock naming a live local pid is never overridden.
 *   Dovecot overrides by unlink(); here the stale file is renamed aside and deleted only if it is
 *   the one judged stale, so two waiters overriding at once cannot delete a fresh lock.
 *   Dovecot gives up after 122 s (stale timeout + 2): so does this by default, with TempFailure.
 * - Dovecot treats a lock holding its own pid as stale (one process locks a file only once).
 *   tsmail runs many sessions in one process, so here its own pid counts as alive.
 */
import { randomBytes } from 'node:crypto';
import { chown, link, lstat, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TempFailure } from '../../core/errors.js';
import { fsyncDir } from '../../core/atomic-file.js';

export const UIDLIST_FILE = 'dovecot-uidlist';
export const UIDLIST_LOCK_FILE = 'dovecot-uidlist.lock';

export interface UidlistLockOptions {
  /** Give up waiting after this long (default 122 s, as Dovecot). */
  timeoutMs?: number;
  /** Override a lock nobody changed for this long (default 120 s); 0 = never by age. */
  staleMs?: number;
  /** Refresh the held lock's mtime this often (default 10 s). */
  touchMs?: number;
  /** Written into the lock and compared with other locks' host (default os.hostname()). */
  hostname?: string;
  pid?: number;
  /** Whether a local pid still runs (default: kill(pid, 0) succeeds or fails with EPERM). */
  isAlive?: (pid: number) => boolean;
  /** Mode of the lock, which becomes dovecot-uidlist (default: the directory's mode & 0666). */
  mode?: number;
  /** chown the lock to this owner (when running as root for another user). */
  owner?: { uid: number; gid: number };
  signal?: AbortSignal;
}

export interface UidlistLock {
  readonly lockPath: string;
  readonly uidlistPath: string;
  /**
   * Replaces dovecot-uidlist with `content` and releases the lock. At most once. `written` is
   * called once the new file is in place and before the lock is released (nobody else can have
   * replaced it yet).
   */
  commit(content: string | Uint8Array, written?: () => void): Promise<void>;
  /** Refreshes the lock's mtime now (also done on a timer). */
  touch(): Promise<void>;
}

const PID_CHECK_AGE_MS = 2000;
const WAIT_MIN_MS = 10;
const WAIT_MAX_MS = 1000;

interface ChangeInfo {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

interface WaitState {
  lock?: ChangeInfo;
  file?: ChangeInfo;
  lastChange: number;
  pidRead: boolean;
  pid?: number;
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await lstat(p);
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
}

function sameInode(a: Stats, b: { dev: number; ino: number }): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** file-dotlock.c update_change_info(): records `st`, moves lastChange on a change. */
function updateChange(st: Stats, prev: ChangeInfo | undefined, w: WaitState, now: number): ChangeInfo {
  const cur = { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
  if (prev && prev.dev === cur.dev && prev.ino === cur.ino && prev.size === cur.size && prev.mtimeMs === cur.mtimeMs && prev.ctimeMs === cur.ctimeMs) return prev;
  const at = prev ? now : st.mtimeMs <= now && st.mtimeMs > st.ctimeMs ? st.mtimeMs : st.ctimeMs;
  w.lastChange = Math.max(w.lastChange, at);
  return cur;
}

/** read_local_pid(): `<pid>:<host>` naming this host, else undefined. */
async function readLocalPid(lockPath: string, hostname: string): Promise<number | undefined> {
  let text: string;
  try {
    const fh = await open(lockPath, 'r');
    try {
      const { buffer, bytesRead } = await fh.read(Buffer.alloc(511), 0, 511, 0);
      text = buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
  if (text.endsWith('\n')) text = text.slice(0, -1);
  const colon = text.indexOf(':');
  if (colon < 0 || text.slice(colon + 1) !== hostname || !/^[0-9]+$/.test(text.slice(0, colon))) return undefined;
  const pid = Number(text.slice(0, colon));
  return pid > 0 ? pid : undefined;
}

function defaultIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errno(err) === 'EPERM';
  }
}


/**
 * Takes a stale lock away: rename it aside, delete it if it is the file judged stale, else put
 * the fresh lock someone created meanwhile back (if its name is still free).
 */
async function override(lockPath: string, stale: Stats): Promise<void> {
  const aside = `${lockPath}.stale.${process.pid}.${randomBytes(6).toString('hex')}`;
  try {
    await rename(lockPath, aside);
  } catch (err) {
    if (errno(err) === 'ENOENT') return;
    throw err;
  }
  const moved = await lstat(aside);
  if (!sameInode(moved, stale)) await link(aside, lockPath).catch(() => {});
  await unlink(aside).catch(() => {});
}

type Verdict = 'try' | 'wait';

/** file-dotlock.c check_lock(), minus "own pid is stale" (see the top of this file). */
async function checkLock(lockPath: string, uidlistPath: string, w: WaitState, o: Required<Pick<UidlistLockOptions, 'staleMs' | 'hostname' | 'isAlive'>>): Promise<Verdict> {
  const now = Date.now();
  const st = await lstatOrUndefined(lockPath);
  if (!st) return 'try';
  const before = w.lock;
  w.lock = updateChange(st, before, w, now);
  const changed = w.lock !== before;
  if (changed || !w.pidRead) {
    if (st.mtimeMs >= now - PID_CHECK_AGE_MS) {
      w.pidRead = false;
      w.pid = undefined;
    } else {
      w.pid = await readLocalPid(lockPath, o.hostname);
      w.pidRead = true;
    }
  } else if (w.pid !== undefined) {
    w.pid = await readLocalPid(lockPath, o.hostname); // a rapidly recreated lock may hold another pid
  }

  if (w.pid !== undefined) {
    if (o.isAlive(w.pid)) return 'wait';
    const again = await lstatOrUndefined(lockPath);
    if (again && sameInode(again, st) && again.mtimeMs === st.mtimeMs && again.size === st.size) await override(lockPath, st);
    return 'try';
  }
  if (o.staleMs === 0) return 'wait';
  if (now > w.lastChange + o.staleMs) {
    // possibly stale: the protected file changing also counts as activity
    const fst = await stat(uidlistPath).catch((err: unknown) => {
      if (errno(err) === 'ENOENT') return undefined;
      throw err;
    });
    if (fst) w.file = updateChange(fst, w.file, w, now);
  }
  if (now > w.lastChange + o.staleMs) {
    await override(lockPath, st);
    return 'try';
  }
  return 'wait';
}

/**
 * Creates the lock already holding `<pid>:<host>`: the content goes into a private temp file
 * first, which is then hard-linked to the lock name (link() fails with EEXIST if someone holds
 * it: Dovecot's own dotlock method with dotlock_use_excl = no). With O_EXCL + write instead, a
 * process killed between the two would leave an empty lock that nobody can prove stale before
 * the 120 s timeout, blocking the folder for everyone, Dovecot included.
 */
async function createLock(lockPath: string, mode: number, content: string, owner: UidlistLockOptions['owner']): Promise<FileHandle | undefined> {
  const tmp = `${lockPath}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', mode);
  try {
    if (owner) await fh.chown(owner.uid, owner.gid);
    await fh.chmod(mode); // the umask must not narrow it
    await fh.writeFile(content);
    try {
      await link(tmp, lockPath);
    } catch (err) {
      if (errno(err) === 'EEXIST') {
        await fh.close();
        return undefined;
      }
      throw err;
    }
  } catch (err) {
    await fh.close().catch(() => {});
    throw err;
  } finally {
    await unlink(tmp).catch(() => {});
  }
  return fh;
}

async function acquire(dir: string, opts: UidlistLockOptions): Promise<{ fh: FileHandle; st: Stats }> {
  const lockPath = path.join(dir, UIDLIST_LOCK_FILE);
  const uidlistPath = path.join(dir, UIDLIST_FILE);
  const o = {
    staleMs: opts.staleMs ?? 120_000,
    hostname: opts.hostname ?? os.hostname(),
    isAlive: opts.isAlive ?? defaultIsAlive,
  };
  const pid = opts.pid ?? process.pid;
  const mode = opts.mode ?? (await stat(dir)).mode & 0o666;
  const deadline = Date.now() + (opts.timeoutMs ?? 122_000);
  const w: WaitState = { lastChange: 0, pidRead: false };
  let wait = WAIT_MIN_MS;
  let seenChange = -1;
  for (;;) {
    opts.signal?.throwIfAborted();
    const fh = await createLock(lockPath, mode, `${pid}:${o.hostname}`, opts.owner);
    if (fh) return { fh, st: await fh.stat() };
    if ((await checkLock(lockPath, uidlistPath, w, o)) === 'try') continue;
    const left = deadline - Date.now();
    if (left <= 0) throw new TempFailure(`timeout waiting for ${lockPath}`, { pid: w.pid });
    // file-dotlock.c dotlock_create(): back off while nothing changes, start over when it does
    if (w.lastChange !== seenChange) {
      seenChange = w.lastChange;
      wait = WAIT_MIN_MS;
    } else {
      wait = Math.min(wait * 1.5, WAIT_MAX_MS);
    }
    await sleep(Math.min(left, wait * (1 + Math.random())), undefined, { signal: opts.signal });
  }
}

/**
 * Runs `fn` holding the dovecot-uidlist lock of the Maildir folder `dir` (the directory holding
 * dovecot-uidlist). `fn` may call `lock.commit(content)` once to replace dovecot-uidlist; if it
 * does not (or throws first), the lock is released and dovecot-uidlist left as it was.
 * Throws TempFailure when the lock cannot be had in time or was taken over before commit.
 */
export async function withUidlistLock<T>(dir: string, fn: (lock: UidlistLock) => Promise<T>, opts: UidlistLockOptions = {}): Promise<T> {
  const lockPath = path.join(dir, UIDLIST_LOCK_FILE);
  const uidlistPath = path.join(dir, UIDLIST_FILE);
  const { fh, st } = await acquire(dir, opts);
  let state: 'held' | 'committing' | 'gone' = 'held';
  let closed = false;
  const closeFh = async (): Promise<void> => {
    if (!closed) {
      closed = true;
      await fh.close();
    }
  };
  const stillOurs = async (): Promise<boolean> => {
    const now = await lstatOrUndefined(lockPath);
    return now !== undefined && sameInode(now, st);
  };
  const release = async (): Promise<void> => {
    state = 'gone';
    if (await stillOurs().catch(() => false)) await unlink(lockPath).catch(() => {});
  };
  const touch = async (): Promise<void> => {
    if (state !== 'held') return;
    const t = new Date();
    await fh.utimes(t, t); // our inode, even if the name was taken over meanwhile
  };
  const timer = setInterval(() => void touch().catch(() => {}), opts.touchMs ?? 10_000);
  timer.unref();

  const lock: UidlistLock = {
    lockPath,
    uidlistPath,
    touch,
    async commit(content, written) {
      if (state !== 'held') throw new Error('dovecot-uidlist lock already committed or released');
      if (!(await stillOurs())) throw new TempFailure(`${lockPath} was taken over by another process`);
      state = 'committing';
      // The new content goes to dovecot-uidlist.tmp (as Dovecot writes it), not into the lock:
      // the lock keeps naming our pid until the end, so if we are killed mid-commit the next
      // locker sees a dead pid after 2 s instead of an anonymous lock for the 120 s stale timeout.
      const tmp = path.join(dir, `${UIDLIST_FILE}.tmp`);
      try {
        const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
        const out = await open(tmp, 'w', st.mode & 0o666);
        try {
          await out.write(data, 0, data.length, 0);
          await out.datasync();
        } finally {
          await out.close();
        }
        if (opts.owner) await chown(tmp, opts.owner.uid, opts.owner.gid);
        await rename(tmp, uidlistPath);
        written?.();
        await fsyncDir(dir);
      } catch (err) {
        await unlink(tmp).catch(() => {});
        await release(); // dovecot-uidlist unchanged
        throw err;
      }
      await release();
      await closeFh();
    },
  };

  try {
    return await fn(lock);
  } finally {
    clearInterval(timer);
    if (state === 'held') await release();
    await closeFh().catch(() => {});
  }
}
