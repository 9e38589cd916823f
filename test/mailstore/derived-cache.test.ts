/**
 * tsmail.cache: ENVELOPE/BODYSTRUCTURE strings derived from message files, shared by the sessions
 * of a folder and kept across restarts; never a wrong answer from a damaged or foreign file.
 */
import { appendFile, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { MaildirStore } from '../../src/mailstore/maildir/store.js';
import type { Folder, Mailbox } from '../../src/mailstore/types.js';
import { tempDir } from '../helpers/tmp.js';

const MSG = (n: number) => Buffer.from(`Subject: ${n}\r\n\r\nbody\r\n`);

describe('tsmail.cache (derived per-message data)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let root: string;
  const open: { store: MaildirStore; box: Mailbox; folders: Folder[] }[] = [];

  /** A "process": a store, the user's mailbox and INBOX opened. */
  async function run(): Promise<Folder> {
    const store = new MaildirStore({ log: silentLogger, specialUse: [], idleMs: 0 });
    const box = await store.openMailbox(root);
    const f = await box.open('INBOX');
    open.push({ store, box, folders: [f] });
    return f;
  }
  /** Clean shutdown of every "process". */
  async function stopAll(): Promise<void> {
    for (const p of open.splice(0)) {
      for (const f of p.folders) await f.close();
      await p.box.close();
      await p.store.flush();
    }
  }

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    root = path.join(dir, 'u');
    const store = new MaildirStore({ log: silentLogger, specialUse: [] });
    const box = await store.openMailbox(root);
    for (let i = 1; i <= 4; i++) await box.append('INBOX', MSG(i));
    await box.close();
    await store.flush();
  });
  afterEach(async () => {
    await stopAll();
    await cleanup();
  });

  it('is shared by every session of the folder and survives a restart', async () => {
    const a = await run();
    const b = await open[0]!.box.open('INBOX');
    open[0]!.folders.push(b);
    expect(a.cacheGet(1, 'envelope')).toBeUndefined();
    a.cacheSet(1, 'envelope', '("env 1" NIL)');
    a.cacheSet(1, 'bodystructure', '("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 6 1)');
    a.cacheSet(3, 'envelope', 'Grüße \u{1F600} "quoted"\twith\ttabs\nand a newline');
    expect(b.cacheGet(1, 'envelope')).toBe('("env 1" NIL)');
    await stopAll();

    const c = await run();
    expect(c.cacheGet(1, 'envelope')).toBe('("env 1" NIL)');
    expect(c.cacheGet(1, 'bodystructure')).toBe('("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 6 1)');
    expect(c.cacheGet(3, 'envelope')).toBe('Grüße \u{1F600} "quoted"\twith\ttabs\nand a newline');
    expect(c.cacheGet(2, 'envelope')).toBeUndefined();
    expect(c.cacheGet(1, 'other')).toBeUndefined();
  });

  it('folders of one store share one read-ahead buffer without mixing up their records', async () => {
    const inbox = await run();
    const { box } = open[0]!;
    await box.create('Other');
    for (let i = 1; i <= 4; i++) await box.append('Other', MSG(i));
    const other = await box.open('Other');
    open[0]!.folders.push(other);
    for (let uid = 1; uid <= 4; uid++) {
      inbox.cacheSet(uid, 'envelope', `inbox ${uid}`);
      other.cacheSet(uid, 'envelope', `other ${uid}`);
    }
    await stopAll();
    const a = await run();
    const b = await open[0]!.box.open('Other');
    open[0]!.folders.push(b);
    const got: string[] = [];
    for (let uid = 1; uid <= 4; uid++) got.push(a.cacheGet(uid, 'envelope')!, b.cacheGet(uid, 'envelope')!);
    expect(got).toEqual(['inbox 1', 'other 1', 'inbox 2', 'other 2', 'inbox 3', 'other 3', 'inbox 4', 'other 4']);
  });

  it('finds records written after the last index write (a crash before the index caught up)', async () => {
    const a = await run();
    a.cacheSet(2, 'envelope', 'E2');
    await stopAll();
    // The index still says the cache ended before this record: restore that index after adding one.
    const index = await readFile(path.join(root, 'tsmail.index'));
    const b = await run();
    b.cacheSet(4, 'envelope', 'E4');
    await stopAll();
    await writeFile(path.join(root, 'tsmail.index'), index);
    const c = await run();
    expect([c.cacheGet(2, 'envelope'), c.cacheGet(4, 'envelope')]).toEqual(['E2', 'E4']);
  });

  it('forgets expunged messages and ignores UIDs not in the folder', async () => {
    const a = await run();
    a.cacheSet(2, 'envelope', 'E2');
    a.cacheSet(99, 'envelope', 'nobody');
    await a.expunge([2]);
    expect(a.cacheGet(2, 'envelope')).toBeUndefined();
    expect(a.cacheGet(99, 'envelope')).toBeUndefined();
    await stopAll();
    expect(await readFile(path.join(root, 'tsmail.cache'), 'utf8')).not.toContain('nobody');
  });

  it('is emptied when the folder gets a new UIDVALIDITY', async () => {
    const a = await run();
    a.cacheSet(1, 'envelope', 'old UID 1');
    await stopAll();
    await rm(path.join(root, 'dovecot-uidlist'));
    await rm(path.join(root, 'tsmail.index'));
    const b = await run();
    expect(b.count()).toBe(4);
    expect(b.cacheGet(1, 'envelope')).toBeUndefined();
    b.cacheSet(1, 'envelope', 'new UID 1');
    expect(b.cacheGet(1, 'envelope')).toBe('new UID 1');
    await stopAll();
    expect(await readFile(path.join(root, 'tsmail.cache'), 'utf8')).not.toContain('old UID 1');
  });

  it('survives a torn last record and never answers from a file that does not match', async () => {
    const a = await run();
    a.cacheSet(1, 'envelope', 'E1');
    await stopAll();
    const file = path.join(root, 'tsmail.cache');
    await appendFile(file, '3\t0\tenvelope\t100\npartial'); // crash mid-write
    const b = await run();
    expect(b.cacheGet(1, 'envelope')).toBe('E1');
    expect(b.cacheGet(3, 'envelope')).toBeUndefined();
    b.cacheSet(3, 'envelope', 'E3');
    await stopAll();
    const c = await run();
    expect([c.cacheGet(1, 'envelope'), c.cacheGet(3, 'envelope')]).toEqual(['E1', 'E3']);
    await stopAll();
    // Someone replaces the file with other records at the same offsets: misses, not wrong data.
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace(/^1\t0\tenvelope\t2\nE1\n/m, '2\t0\tenvelope\t2\nXX\n'));
    const d = await run();
    expect(d.cacheGet(1, 'envelope')).toBeUndefined();
  });

  it('is compacted when most of it belongs to expunged messages', async () => {
    const a = await run();
    const box = open[0]!.box;
    for (let i = 5; i <= 40; i++) await box.append('INBOX', MSG(i));
    await a.sync();
    const big = (uid: number) => `${uid}:` + 'x'.repeat(40_000);
    for (let uid = 1; uid <= 40; uid++) a.cacheSet(uid, 'bodystructure', big(uid));
    await open[0]!.store.flush();
    const file = path.join(root, 'tsmail.cache');
    expect((await stat(file)).size).toBeGreaterThan(1_500_000);
    await a.expunge(Array.from({ length: 35 }, (_, i) => i + 1));
    await stopAll();
    expect((await stat(file)).size).toBeLessThan(300_000);
    const b = await run();
    expect(b.count()).toBe(5);
    for (let uid = 36; uid <= 40; uid++) expect(b.cacheGet(uid, 'bodystructure')).toBe(big(uid));
  });
});
