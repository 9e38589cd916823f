import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { compareMaildirNames } from '../../src/mailstore/maildir/filename.js';
import { MaildirStore } from '../../src/mailstore/maildir/store.js';
import { tempDir } from '../helpers/tmp.js';

const MSG = (n: number) => Buffer.from(`Subject: ${n}\r\n\r\nbody\r\n`);

describe('tsmail.index (cache of a folder across restarts)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let root: string;
  const fresh = () => new MaildirStore({ log: silentLogger, specialUse: [] });

  /** A first "process" that stores 3 messages, changes flags and shuts down cleanly. */
  async function firstRun() {
    const store = fresh();
    const box = await store.openMailbox(root);
    for (let i = 1; i <= 3; i++) await box.append('INBOX', MSG(i));
    const inbox = await box.open('INBOX');
    await inbox.setFlags([2], 'add', ['\\Seen']);
    await inbox.sync();
    const status = inbox.status();
    const metas = inbox.messages().map((m) => ({ ...m }));
    await inbox.close();
    await box.close();
    await store.flush();
    return { status, metas };
  }

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    root = path.join(dir, 'u');
  });
  afterEach(() => cleanup());

  it('restores UIDs, dates, sizes and mod-sequences after a restart', async () => {
    const before = await firstRun();
    expect(await readFile(path.join(root, 'tsmail.index'), 'utf8')).toMatch(/^tsmail-index 2\t/);
    const box = await fresh().openMailbox(root);
    const inbox = await box.open('INBOX');
    expect(inbox.messages()).toEqual(before.metas);
    expect(inbox.status().highestModseq).toBe(before.status.highestModseq);
    await inbox.close();
  });

  it('never lets HIGHESTMODSEQ go backwards when the index is lost', async () => {
    const before = await firstRun();
    await rm(path.join(root, 'tsmail.index'));
    const inbox = await (await fresh().openMailbox(root)).open('INBOX');
    expect(inbox.status().highestModseq).toBeGreaterThan(before.status.highestModseq);
    expect(inbox.messages().map((m) => [m.uid, m.flags])).toEqual(before.metas.map((m) => [m.uid, m.flags]));
  });

  it('does not trust a stale index: changes made while tsmail was down are found', async () => {
    await firstRun();
    const cur = path.join(root, 'cur');
    const { readdir, rename, unlink } = await import('node:fs/promises');
    // In UID order: the names' microsecond parts are not zero-padded, so a plain sort() can put
    // a later message first within the same second.
    const files = (await readdir(cur)).sort(compareMaildirNames);
    await unlink(path.join(cur, files[0]!)); // expunged by Dovecot
    await rename(path.join(cur, files[2]!), path.join(cur, files[2]!.replace(/:2,.*$/, ':2,F'))); // flagged
    await writeFile(path.join(root, 'new', '1800000000.1_1.elsewhere'), 'Subject: new\n\nx\n'); // delivered
    const inbox = await (await fresh().openMailbox(root)).open('INBOX');
    expect(inbox.messages().map((m) => [m.uid, m.flags])).toEqual([[2, ['\\Seen']], [3, ['\\Flagged']], [4, []]]);
  });

  it('vouches for a folder only once its directories have settled (mtimes move once per kernel tick)', async () => {
    await firstRun();
    const header = async () => (await readFile(path.join(root, 'tsmail.index'), 'utf8')).split('\n')[0]!.split('\t');
    // Changed a moment ago: a change in the same tick would leave the same mtime behind.
    expect((await header())[4]).toBe('unsettled');
    const { utimes, stat } = await import('node:fs/promises');
    const hourAgo = new Date(Date.now() - 3600_000);
    for (const sub of ['new', 'cur']) await utimes(path.join(root, sub), hourAgo, hourAgo);
    const store = fresh();
    const inbox = await (await store.openMailbox(root)).open('INBOX');
    await inbox.sync();
    await store.flush();
    const sig = (await Promise.all(['new', 'cur'].map(async (sub) => {
      const st = await stat(path.join(root, sub), { bigint: true });
      return `${st.ino}:${st.mtimeNs}`;
    }))).join('/');
    expect((await header())[4]).toBe(sig);
  });

  it('ignores an index of the older format (version 1) and rebuilds it in the current one', async () => {
    const before = await firstRun();
    const file = path.join(root, 'tsmail.index');
    const v2 = await readFile(file, 'utf8');
    // Version 1 had a separate base column and no cache fields; its UIDs here are deliberately wrong.
    const v1 = ['tsmail-index 1\t1\t4\t5\tsig\tsig', ...before.metas.map((m) => `${m.uid + 10}\tbase${m.uid}\tcur\tbase${m.uid}:2,\t1\t1\t0\t1`)].join('\n') + '\n';
    await writeFile(file, v1);
    const store = fresh();
    const inbox = await (await store.openMailbox(root)).open('INBOX');
    expect(inbox.messages().map((m) => [m.uid, m.flags])).toEqual(before.metas.map((m) => [m.uid, m.flags]));
    await inbox.close();
    await store.flush();
    expect((await readFile(file, 'utf8')).split('\t')[0]).toBe(v2.split('\t')[0]);
  });

  it('rebuilds from the Maildir when the index is damaged', async () => {
    const before = await firstRun();
    const file = path.join(root, 'tsmail.index');
    await writeFile(file, (await readFile(file, 'utf8')).replace(/\n2\t/, '\nzz\t'));
    const inbox = await (await fresh().openMailbox(root)).open('INBOX');
    expect(inbox.messages().map((m) => m.uid)).toEqual(before.metas.map((m) => m.uid));
  });
});
