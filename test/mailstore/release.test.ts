/**
 * A folder's in-memory state (and its watcher) lives only while some session has it open: a user
 * who stays logged in all day does not pin every folder STATUS or APPEND touched, and a big folder
 * nobody looks at costs no memory (store.ts release / keepWarm).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { MaildirStore, type MaildirStoreOptions } from '../../src/mailstore/maildir/store.js';
import { tempDir } from '../helpers/tmp.js';

const MSG = (n: number) => Buffer.from(`Subject: ${n}\r\n\r\nbody\r\n`);

describe('releasing folder state', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let root: string;
  /** Watchers started and not stopped, by folder directory. */
  let watching: Map<string, number>;

  const makeStore = (opts: Partial<MaildirStoreOptions> = {}) => new MaildirStore({
    log: silentLogger, specialUse: [], idleMs: 0,
    watch: (d) => ({
      start: () => watching.set(d, (watching.get(d) ?? 0) + 1),
      stop: () => watching.set(d, (watching.get(d) ?? 0) - 1),
    }),
    ...opts,
  });
  const active = () => [...watching.values()].reduce((a, b) => a + b, 0);

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    root = path.join(dir, 'u');
    watching = new Map();
  });
  afterEach(() => cleanup());

  it('holds the state and one watcher while sessions have the folder open, and drops both after the last close', async () => {
    const store = makeStore();
    const box = await store.openMailbox(root);
    await box.append('INBOX', MSG(1));
    expect([store.openFolders, active()]).toEqual([0, 0]);
    const a = await box.open('INBOX');
    const b = await box.open('INBOX');
    expect([store.openFolders, active()]).toEqual([1, 1]); // one watcher per folder, not per session
    await a.close();
    await a.close(); // twice: no double release
    expect([store.openFolders, active()]).toEqual([1, 1]);
    await b.close();
    await store.flush(); // releasing writes the index first: wait for that
    expect([store.openFolders, store.loadedFolders, active()]).toEqual([0, 0, 0]);
    await box.close();
  });

  it('STATUS, APPEND and COPY targets do not keep folders held by a logged-in user', async () => {
    const store = makeStore();
    const box = await store.openMailbox(root);
    for (const name of ['A', 'B', 'C']) await box.create(name);
    await box.append('A', MSG(1));
    for (const name of ['A', 'B', 'C']) await box.status(name);
    const a = await box.open('A');
    await a.copyTo([1], 'B');
    await a.moveTo([1], 'C');
    expect(store.openFolders).toBe(1);
    await a.close();
    await store.flush(); // releasing writes the index first: wait for that
    expect([store.openFolders, store.loadedFolders]).toEqual([0, 0]);
    expect((await box.status('B')).messages).toBe(1);
    expect((await box.status('C')).messages).toBe(1);
    await box.close();
  });

  it('a released folder opened again sees what changed while nobody had it open', async () => {
    const store = makeStore();
    const box = await store.openMailbox(root);
    for (let i = 1; i <= 3; i++) await box.append('INBOX', MSG(i));
    let f = await box.open('INBOX');
    f.cacheSet(2, 'envelope', 'E2');
    await f.close();
    await store.flush(); // releasing writes the index first: wait for that
    expect(store.loadedFolders).toBe(0);
    await writeFile(path.join(root, 'new', '1800000000.1_1.elsewhere'), 'Subject: meanwhile\n\nx\n');
    f = await box.open('INBOX');
    expect(Array.from({ length: f.count() }, (_, i) => f.uidAt(i + 1))).toEqual([1, 2, 3, 4]);
    expect(f.cacheGet(2, 'envelope')).toBe('E2');
    expect(f.isRecent(4)).toBe(true);
    await f.close();
    await box.close();
  });

  it('keeps small folders warm for a while, but never one bigger than the idle budget', async () => {
    const store = makeStore({ idleMs: 60_000, idleMessages: 3 });
    const box = await store.openMailbox(root);
    await box.create('Small');
    await box.create('Big');
    await box.append('Small', MSG(1));
    for (let i = 1; i <= 5; i++) await box.append('Big', MSG(i));
    await store.flush(); // releasing writes the index first: wait for that
    // APPEND released both; only the small one stays in memory
    expect([store.openFolders, store.loadedFolders]).toEqual([0, 1]);
    const big = await box.open('Big');
    expect(big.count()).toBe(5);
    await big.close();
    await store.flush(); // releasing writes the index first: wait for that
    expect(store.loadedFolders).toBe(1);
    // DELETE forgets a warm state: a new folder of that name starts empty
    await box.delete('Small');
    expect(store.loadedFolders).toBe(0);
    await box.create('Small');
    expect((await box.status('Small')).messages).toBe(0);
    await box.close();
  });

  it('drops a warm folder once idleMs has passed with nobody opening it', async () => {
    const store = makeStore({ idleMs: 20 });
    const box = await store.openMailbox(root);
    await box.append('INBOX', MSG(1));
    const f = await box.open('INBOX');
    await f.close();
    await store.flush();
    // (that it is kept warm at first is the previous test's subject, with a timer that cannot race)
    while (store.loadedFolders > 0) await new Promise((r) => setTimeout(r, 10)); // bounded by the test timeout
    expect((await box.status('INBOX')).messages).toBe(1);
    await box.close();
  });
});
