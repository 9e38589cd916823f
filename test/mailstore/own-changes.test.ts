/**
 * Changes made through this process (APPEND, COPY, flag changes, EXPUNGE, the first sync's
 * new/ → cur/ moves) update the folder's recorded signature, so the next sync does not list the
 * folder again for them alone (folder-state.ts adopt()). A change another process makes right
 * after ours, possibly in the same clock tick (same directory mtime), must still be seen: at the
 * next sync, or at the latest by the recheck once the directories have settled.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { MaildirStore } from '../../src/mailstore/maildir/store.js';
import type { Folder } from '../../src/mailstore/types.js';
import { tempDir } from '../helpers/tmp.js';

const MSG = (n: number) => Buffer.from(`Subject: ${n}\r\n\r\nbody\r\n`);

/** Syncs until `done` holds; the recheck after an own change runs within a few seconds. */
async function syncUntil(folder: Folder, done: () => boolean): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    await folder.sync();
    if (done()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/**
 * Runs `change` and puts the directory's mtime back as it was before: the change then looks as
 * if it had happened in the same clock tick as our own last change there (touch takes ns).
 */
function inSameTick(dir: string, change: () => void): void {
  const ns = statSync(dir, { bigint: true }).mtimeNs;
  change();
  execFileSync('touch', ['-m', '-d', `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`, dir]);
  expect(statSync(dir, { bigint: true }).mtimeNs).toBe(ns);
}

describe('changes of our own and of others right after them', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let root: string;
  let store: MaildirStore;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    root = path.join(dir, 'u');
    // A watcher that never fires: only sync() and the recheck may find the outside changes.
    store = new MaildirStore({ log: silentLogger, specialUse: [], watch: () => ({ start() {}, stop() {} }) });
  });
  afterEach(() => cleanup());

  /** What another process (an MDA, doveadm) does: a complete file renamed into place. */
  const dropInto = (sub: 'new' | 'cur', name: string, n: number): void => {
    const tmp = path.join(root, 'tmp', name);
    writeFileSync(tmp, MSG(n));
    renameSync(tmp, path.join(root, sub, sub === 'cur' ? `${name}:2,` : name));
  };

  it('sees a file dropped into new/ right after an APPEND', async () => {
    const box = await store.openMailbox(root);
    await box.append('INBOX', MSG(1));
    const inbox = await box.open('INBOX');
    await box.append('INBOX', MSG(2));
    dropInto('new', '1800000000.M1P1.other', 3);
    await inbox.sync();
    expect(inbox.count()).toBe(3);
    await inbox.close();
    await box.close();
  });

  it('sees a file dropped into cur/ right after an APPEND (same directory, maybe the same mtime)', async () => {
    const box = await store.openMailbox(root);
    await box.append('INBOX', MSG(1));
    const inbox = await box.open('INBOX');
    await box.append('INBOX', MSG(2));
    inSameTick(path.join(root, 'cur'), () => dropInto('cur', '1800000000.M2P1.other', 3));
    expect(await syncUntil(inbox, () => inbox.count() === 3)).toBe(true);
    await inbox.close();
    await box.close();
  });

  it('sees a rename by another process (doveadm flags) right after our own flag change', async () => {
    const box = await store.openMailbox(root);
    await box.append('INBOX', MSG(1));
    await box.append('INBOX', MSG(2));
    const inbox = await box.open('INBOX');
    const [a, b] = inbox.messages().map((m) => m.uid);
    await inbox.setFlags([a!], 'add', ['\\Seen']);
    // The other message's file gets \Flagged from outside, as `doveadm flags add` renames it.
    const cur = path.join(root, 'cur');
    const other = readdirSync(cur).find((f) => !f.endsWith(',S'))!;
    inSameTick(cur, () => renameSync(path.join(cur, other), path.join(cur, `${other}F`)));
    expect(await syncUntil(inbox, () => inbox.meta(b!)?.flags.includes('\\Flagged') === true)).toBe(true);
    expect(inbox.meta(a!)?.flags).toEqual(['\\Seen']);
    await inbox.close();
    await box.close();
  });

  it('sees an expunge by another process right after our own EXPUNGE', async () => {
    const box = await store.openMailbox(root);
    for (let n = 1; n <= 3; n++) await box.append('INBOX', MSG(n));
    const inbox = await box.open('INBOX');
    const [a, b, c] = inbox.messages().map((m) => m.uid);
    await inbox.expunge([a!]);
    const cur = path.join(root, 'cur');
    const files = readdirSync(cur).sort();
    inSameTick(cur, () => unlinkSync(path.join(cur, files[0]!))); // b's file (names sort by time of saving)
    expect(await syncUntil(inbox, () => inbox.count() === 1)).toBe(true);
    expect(inbox.messages().map((m) => m.uid)).toEqual([c]);
    expect(b).toBeLessThan(c!);
    await inbox.close();
    await box.close();
  });

  it('sees a file dropped into new/ right after the first sync moved new/ to cur/', async () => {
    for (const sub of ['new', 'cur', 'tmp']) await mkdir(path.join(root, sub), { recursive: true });
    for (let n = 1; n <= 5; n++) await writeFile(path.join(root, 'new', `170000000${n}.M${n}P1.mda`), MSG(n));
    const box = await store.openMailbox(root);
    const inbox = await box.open('INBOX');
    expect(inbox.count()).toBe(5);
    expect(readdirSync(path.join(root, 'new'))).toEqual([]);
    dropInto('new', '1800000000.M3P1.other', 6);
    expect(await syncUntil(inbox, () => inbox.count() === 6)).toBe(true);
    await inbox.close();
    await box.close();
  });
});
