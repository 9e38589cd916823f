import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TempFailure } from '../../src/core/errors.js';
import { maildirSizeFields, withInfo } from '../../src/mailstore/maildir/filename.js';
import { UIDLIST_LOCK_FILE, withUidlistLock, type UidlistLockOptions } from '../../src/mailstore/maildir/uidlist-lock.js';
import { effectiveNextUid, parseUidlist, serializeUidlist, type Uidlist } from '../../src/mailstore/maildir/uidlist.js';
import { tempDir } from '../helpers/tmp.js';
import { cleanup, doveadmAvailable, doveadmCommand, doveadmOk, giveToDovecot, makeDovecotHome, parseFetch, type DovecotHome } from './helpers/dovecot.js';

const GUID = '0123456789abcdef0123456789abcdef';
const HOST = os.hostname();
const srcDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/mailstore/maildir');

async function readUidlist(dir: string): Promise<Uidlist> {
  try {
    return parseUidlist(await readFile(path.join(dir, 'dovecot-uidlist'))).uidlist!;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return { version: 3, uidValidity: 1, nextUid: 1, guid: GUID, headerExt: [], records: [] };
  }
}

/** Appends one record under the lock: the read-modify-write every UID assignment is. */
async function appendOne(dir: string, base: string, during?: () => Promise<void>, opts?: UidlistLockOptions): Promise<number> {
  return withUidlistLock(
    dir,
    async (lock) => {
      const u = await readUidlist(dir);
      await during?.();
      const uid = effectiveNextUid(u);
      await lock.commit(serializeUidlist({ ...u, nextUid: uid + 1, records: [...u.records, { uid, ext: [], base }] }));
      return uid;
    },
    opts,
  );
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await exited(child);
  return child.pid!;
}

describe('withUidlistLock', () => {
  let dir: string;
  let done: () => Promise<void>;
  const lockPath = (): string => path.join(dir, UIDLIST_LOCK_FILE);
  beforeEach(async () => {
    ({ dir, cleanup: done } = await tempDir('tsmail-lock-'));
  });
  afterEach(async () => {
    await done();
  });

  it('writes pid:host into the lock and replaces dovecot-uidlist on commit', async () => {
    await writeFile(path.join(dir, 'dovecot-uidlist'), 'old');
    const dirMode = (await stat(dir)).mode & 0o777;
    await withUidlistLock(dir, async (lock) => {
      expect(await readFile(lockPath(), 'utf8')).toBe(`${process.pid}:${HOST}`);
      expect((await stat(lockPath())).mode & 0o777).toBe(dirMode & 0o666);
      await lock.commit('3 V1 N1 G' + GUID + '\n');
      await expect(lock.commit('again')).rejects.toThrow(/already committed/);
    });
    expect(await readFile(path.join(dir, 'dovecot-uidlist'), 'utf8')).toBe(`3 V1 N1 G${GUID}\n`);
    expect(await exists(lockPath())).toBe(false);
  });

  it('releases without touching dovecot-uidlist when fn does not commit or throws', async () => {
    await writeFile(path.join(dir, 'dovecot-uidlist'), 'old');
    expect(await withUidlistLock(dir, async () => 42)).toBe(42);
    expect(await exists(lockPath())).toBe(false);
    await expect(
      withUidlistLock(dir, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await exists(lockPath())).toBe(false);
    expect(await readFile(path.join(dir, 'dovecot-uidlist'), 'utf8')).toBe('old');
  });

  it('lets one holder at a time in within a process, losing no update', async () => {
    let inside = 0;
    let most = 0;
    const during = async (): Promise<void> => {
      most = Math.max(most, ++inside);
      await sleep(Math.random() * 5);
      inside--;
    };
    const uids = await Promise.all(Array.from({ length: 25 }, (_, i) => appendOne(dir, `msg${i}`, during)));
    expect(most).toBe(1);
    expect([...uids].sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    const u = await readUidlist(dir);
    expect(u.records.map((r) => r.uid)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(new Set(u.records.map((r) => r.base)).size).toBe(25);
  });

  it('lets one holder at a time in across processes, losing no update', async () => {
    const script = `
      import { open, unlink } from 'node:fs/promises';
      const { withUidlistLock } = await import(${JSON.stringify(path.join(srcDir, 'uidlist-lock.ts'))});
      const { parseUidlist, serializeUidlist, effectiveNextUid } = await import(${JSON.stringify(path.join(srcDir, 'uidlist.ts'))});
      const [dir, tag, n] = process.argv.slice(1);
      for (let i = 0; i < Number(n); i++) {
        await withUidlistLock(dir, async (lock) => {
          const marker = await open(dir + '/holder', 'wx').catch(() => { console.error('two holders'); process.exit(3); });
          let text = '';
          try { text = await (await import('node:fs/promises')).readFile(dir + '/dovecot-uidlist', 'utf8'); } catch {}
          const u = text ? parseUidlist(text).uidlist : { version: 3, uidValidity: 1, nextUid: 1, guid: '${GUID}', headerExt: [], records: [] };
          const uid = effectiveNextUid(u);
          await new Promise((r) => setTimeout(r, Math.random() * 3));
          await marker.close();
          await unlink(dir + '/holder');
          await lock.commit(serializeUidlist({ ...u, nextUid: uid + 1, records: [...u.records, { uid, ext: [], base: tag + '-' + i }] }));
        });
      }`;
    const children = Array.from({ length: 4 }, (_, c) =>
      spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir, `p${c}`, '8'], { stdio: ['ignore', 'inherit', 'inherit'] }),
    );
    expect(await Promise.all(children.map(exited))).toEqual([0, 0, 0, 0]);
    const u = await readUidlist(dir);
    expect(u.records.map((r) => r.uid)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
    expect(new Set(u.records.map((r) => r.base)).size).toBe(32);
  }, 60_000);

  it('takes over the lock of a dead local process', async () => {
    await writeFile(lockPath(), `${await deadPid()}:${HOST}`);
    const old = new Date(Date.now() - 10_000);
    await utimes(lockPath(), old, old);
    expect(await appendOne(dir, 'a', undefined, { timeoutMs: 10_000 })).toBe(1);
    expect(await exists(lockPath())).toBe(false);
  });

  it('takes over a lock nobody changed for the stale timeout', async () => {
    await writeFile(lockPath(), `123:some-other-host`);
    const old = new Date(Date.now() - 10_000);
    await utimes(lockPath(), old, old);
    expect(await appendOne(dir, 'a', undefined, { staleMs: 2000, timeoutMs: 10_000 })).toBe(1);
  });

  it('never takes over the lock of a live local process, its own included', async () => {
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      for (const pid of [sleeper.pid!, process.pid]) {
        await writeFile(lockPath(), `${pid}:${HOST}`);
        const old = new Date(Date.now() - 600_000);
        await utimes(lockPath(), old, old);
        await expect(appendOne(dir, 'a', undefined, { staleMs: 500, timeoutMs: 1500 })).rejects.toBeInstanceOf(TempFailure);
        expect(await readFile(lockPath(), 'utf8')).toBe(`${pid}:${HOST}`);
      }
    } finally {
      sleeper.kill();
    }
  });

  it('does not take over a lock that keeps changing', async () => {
    await writeFile(lockPath(), `123:some-other-host`);
    const toucher = setInterval(() => {
      const t = new Date();
      void utimes(lockPath(), t, t).catch(() => {});
    }, 100);
    try {
      await expect(appendOne(dir, 'a', undefined, { staleMs: 1000, timeoutMs: 2500 })).rejects.toBeInstanceOf(TempFailure);
      expect(await exists(lockPath())).toBe(true);
    } finally {
      clearInterval(toucher);
    }
  });

  it('refuses to commit a lock that was taken over, and leaves the new holder alone', async () => {
    await writeFile(path.join(dir, 'dovecot-uidlist'), 'old');
    await withUidlistLock(dir, async (lock) => {
      await rename(lockPath(), path.join(dir, 'gone'));
      await writeFile(lockPath(), `1:${HOST}`);
      await expect(lock.commit('new')).rejects.toBeInstanceOf(TempFailure);
    });
    expect(await readFile(lockPath(), 'utf8')).toBe(`1:${HOST}`);
    expect(await readFile(path.join(dir, 'dovecot-uidlist'), 'utf8')).toBe('old');
  });

  it('keeps the held lock fresh', async () => {
    await withUidlistLock(
      dir,
      async () => {
        const old = new Date(Date.now() - 60_000);
        await utimes(lockPath(), old, old);
        await sleep(300);
        expect((await stat(lockPath())).mtimeMs).toBeGreaterThan(old.getTime() + 30_000);
      },
      { touchMs: 50 },
    );
  });
});

const dv = doveadmAvailable();

describe.skipIf(!dv.ok)('the uidlist lock against real Dovecot (doveadm)', () => {
  let h: DovecotHome;
  beforeAll(async () => {
    // lock_method = dotlock lets the test hold Dovecot inside its uidlist lock (see below)
    h = await makeDovecotHome({ extraConfig: 'lock_method = dotlock' });
    await doveadmOk(h, ['save'], 'Subject: first\n\nx\n');
  });
  afterAll(async () => {
    if (h) await cleanup(h);
  });

  function startDoveadm(args: string[], stdin = ''): { child: ChildProcess; stdout: Promise<string> } {
    const { file, args: argv, env } = doveadmCommand(h, args);
    const child = spawn(file, argv, { env, stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdin!.end(stdin);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    return { child, stdout: new Promise((resolve) => child.once('close', () => resolve(out))) };
  }

  async function ourMessage(uid: number): Promise<string> {
    const body = `Subject: tsmail ${uid}\n\nx\n`;
    const base = `1700000000.M${uid}P${process.pid}.tsmail${maildirSizeFields(body.length, body.length + 3)}`;
    const file = path.join(h.mail, 'cur', withInfo(base, 'S'));
    await writeFile(file, body);
    await giveToDovecot(h, file);
    return base;
  }

  it('makes Dovecot respect our lock: delivery defers its UID, a sync waits; no UID collides', async () => {
    const uidlistFile = path.join(h.mail, 'dovecot-uidlist');
    let fetch: ReturnType<typeof startDoveadm> | undefined;
    const ourBase = await withUidlistLock(
      h.mail,
      async (lock) => {
        const before = await readFile(uidlistFile, 'utf8');
        // doveadm save (like LDA/LMTP) only TRIES the lock: the message goes to new/ without a UID
        await doveadmOk(h, ['save'], 'Subject: saved while locked\n\nx\n');
        expect(await readFile(uidlistFile, 'utf8')).toBe(before);
        expect(await readFile(lock.lockPath, 'utf8')).toBe(`${process.pid}:${HOST}`);
        // a sync must give that message a UID, so it waits for the lock
        fetch = startDoveadm(['fetch', 'uid guid', 'mailbox', 'INBOX', 'all']);
        await sleep(1500);
        expect(fetch.child.exitCode).toBeNull();
        const u = await readUidlist(h.mail);
        const uid = effectiveNextUid(u);
        const base = await ourMessage(uid);
        await lock.commit(serializeUidlist({ ...u, nextUid: uid + 1, records: [...u.records, { uid, ext: [], base }] }));
        return base;
      },
      { owner: { uid: h.uid, gid: h.gid } },
    );
    expect(await exited(fetch!.child)).toBe(0);
    const fetched = parseFetch(await fetch!.stdout);
    expect(fetched.map((m) => m.uid)).toEqual([1, 2, 3]);
    expect(fetched[1]!.guid).toBe(ourBase);
    expect(parseUidlist(await readFile(uidlistFile)).uidlist!.records.map((r) => r.uid)).toEqual([1, 2, 3]);
  });

  it('waits while Dovecot holds the lock, and sees its record afterwards', async () => {
    // Dovecot takes dovecot-uidlist.lock before the index lock; holding the index dotlock
    // (with our live pid in it) keeps doveadm save inside its uidlist lock.
    const indexLock = path.join(h.mail, 'dovecot.index.log.lock');
    await writeFile(indexLock, `${process.pid}:${HOST}`);
    await giveToDovecot(h, indexLock);
    const { child: save } = startDoveadm(['save'], 'Subject: dovecot holding the lock\n\nx\n');
    try {
      const lockFile = path.join(h.mail, UIDLIST_LOCK_FILE);
      for (let i = 0; i < 200 && !(await exists(lockFile)); i++) await sleep(50);
      expect(await readFile(lockFile, 'utf8')).toBe(`${save.pid}:${HOST}`);

      let entered = false;
      const ours = withUidlistLock(
        h.mail,
        async (lock) => {
          entered = true;
          const u = await readUidlist(h.mail);
          const uid = effectiveNextUid(u);
          const base = await ourMessage(uid);
          await lock.commit(serializeUidlist({ ...u, nextUid: uid + 1, records: [...u.records, { uid, ext: [], base }] }));
          return { uid, seen: u.records.map((r) => r.uid) };
        },
        { owner: { uid: h.uid, gid: h.gid } },
      );
      await sleep(2500); // past Dovecot's 2 s pid check age: its live pid must keep us out
      expect(entered).toBe(false);
      expect(await readFile(lockFile, 'utf8')).toBe(`${save.pid}:${HOST}`);

      await unlink(indexLock);
      expect(await exited(save)).toBe(0);
      const { uid, seen } = await ours;
      expect(seen).toEqual([1, 2, 3, 4]); // Dovecot's save (4) was committed before we got in
      expect(uid).toBe(5);
      const fetched = parseFetch(await doveadmOk(h, ['fetch', 'uid', 'mailbox', 'INBOX', 'all']));
      expect(fetched.map((m) => m.uid)).toEqual([1, 2, 3, 4, 5]);
    } finally {
      save.kill();
      await unlink(indexLock).catch(() => {});
    }
  });

  it('leaves no lock files behind', async () => {
    expect((await readdir(h.mail)).filter((n) => /lock|stale/.test(n))).toEqual([]);
  });
});
