/**
 * Mailbox operations as IMAP needs them (RFC 3501 6.3, RFC 9051 6.3): RENAME of INBOX and of
 * hierarchies, DELETE of a parent (\Noselect), names refused, LIST attributes, \Recent for exactly
 * one session, and sync() reporting changes against each session's own view.
 */
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInput, NotFound, PolicyReject } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { MaildirStore } from '../../src/mailstore/maildir/store.js';
import type { Folder, Mailbox } from '../../src/mailstore/types.js';
import { tempDir } from '../helpers/tmp.js';

const MSG = (n: number) => Buffer.from(`From: a@example.test\r\nSubject: message ${n}\r\n\r\nbody ${n}\r\n`);
const uidsOf = (f: Folder) => Array.from({ length: f.count() }, (_, i) => f.uidAt(i + 1));

describe('mailbox operations for IMAP', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let store: MaildirStore;
  let root: string;
  let box: Mailbox;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    root = path.join(dir, 'alice');
    store = new MaildirStore({ log: silentLogger, hostname: 'test.host', specialUse: [{ name: 'Sent', use: '\\Sent' }] });
    box = await store.openMailbox(root);
  });
  afterEach(async () => {
    await box.close();
    await store.flush();
    await cleanup();
  });

  const attrs = async (name: string) => (await box.list()).find((f) => f.name === name)?.attributes;

  it('RENAME INBOX moves every message into the new folder, leaves INBOX empty and its children in place (RFC 3501 6.3.5)', async () => {
    for (let i = 1; i <= 3; i++) await box.append('INBOX', MSG(i), { flags: i === 2 ? ['\\Seen', 'Work'] : [] });
    await box.create('INBOX.Kept');
    await box.append('INBOX.Kept', MSG(9));
    const open = await box.open('INBOX');
    await box.rename('INBOX', 'Archive.Old');
    const inbox = await box.open('INBOX');
    expect(inbox.count()).toBe(0);
    expect(await readdir(path.join(root, 'cur'))).toEqual([]);
    const moved = await box.open('Archive.Old');
    expect(moved.count()).toBe(3);
    expect(moved.meta(moved.uidAt(2))!.flags).toEqual(['\\Seen', 'Work']);
    expect((await box.status('INBOX.Kept')).messages).toBe(1);
    // a session that had INBOX selected sees the messages expunged
    expect((await open.sync()).expunged).toEqual([1, 2, 3]);
    // INBOX keeps working: new mail gets a UID after the ones that left
    const next = await box.append('INBOX', MSG(4));
    expect(next.uid).toBe(4);
    for (const f of [open, inbox, moved]) await f.close();
  });

  it('RENAME of a folder renames its children and keeps their messages and subscriptions', async () => {
    await box.create('Projects');
    await box.create('Projects.Alpha');
    await box.create('Projects.Alpha.Docs');
    await box.create('ProjectsX'); // shares the prefix, not the hierarchy
    await box.append('Projects.Alpha.Docs', MSG(1));
    await box.subscribe('Projects.Alpha.Docs', true);
    await box.rename('Projects', 'Work.2026');
    const names = (await box.list()).map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['Work', 'Work.2026', 'Work.2026.Alpha', 'Work.2026.Alpha.Docs', 'ProjectsX']));
    expect(names.filter((n) => n.startsWith('Projects.') || n === 'Projects')).toEqual([]);
    expect((await box.status('Work.2026.Alpha.Docs')).messages).toBe(1);
    expect((await box.list()).find((f) => f.name === 'Work.2026.Alpha.Docs')?.subscribed).toBe(true);
    await expect(box.rename('Work.2026', 'ProjectsX')).rejects.toBeInstanceOf(InvalidInput); // exists
    await expect(box.rename('Nope', 'Other')).rejects.toBeInstanceOf(NotFound);
  });

  it('DELETE of a folder with children removes its messages and leaves it \\Noselect; CREATE makes it selectable again', async () => {
    await box.create('Lists');
    await box.create('Lists.Node');
    await box.append('Lists', MSG(1));
    await box.append('Lists.Node', MSG(2));
    expect(await attrs('Lists')).toEqual(['\\HasChildren']);
    expect(await attrs('Lists.Node')).toEqual(['\\HasNoChildren']);
    await box.delete('Lists');
    expect(await attrs('Lists')).toEqual(['\\Noselect', '\\HasChildren']);
    await expect(box.open('Lists')).rejects.toBeInstanceOf(NotFound);
    // RFC 3501 6.3.4: deleting a \Noselect name that has children is an error
    await expect(box.delete('Lists')).rejects.toBeInstanceOf(NotFound);
    expect((await box.status('Lists.Node')).messages).toBe(1);
    await box.create('Lists');
    const again = await box.open('Lists');
    expect(again.count()).toBe(0); // the old messages are gone for good
    await again.close();
    expect(await attrs('Lists')).toEqual(['\\HasChildren']);
    // and a folder without children simply disappears
    await box.delete('Lists.Node');
    expect(await attrs('Lists.Node')).toBeUndefined();
    expect(await attrs('Lists')).toEqual(['\\HasNoChildren']);
  });

  it('DELETE INBOX is refused (PolicyReject), and INBOX keeps its mail', async () => {
    await box.append('INBOX', MSG(1));
    await expect(box.delete('INBOX')).rejects.toBeInstanceOf(PolicyReject);
    await expect(box.delete('inbox')).rejects.toBeInstanceOf(PolicyReject);
    expect((await box.status('INBOX')).messages).toBe(1);
  });

  it('LIST gives special-use and children attributes', async () => {
    await box.create('Sent.2025');
    const list = await box.list();
    expect(list.find((f) => f.name === 'Sent')?.attributes).toEqual(['\\HasChildren', '\\Sent']);
    expect(list.find((f) => f.name === 'Sent.2025')?.attributes).toEqual(['\\HasNoChildren']);
    expect(list.find((f) => f.name === 'INBOX')?.attributes).toEqual(['\\HasNoChildren']);
  });

  it.each([
    ['a%b'], ['a*'], ['%'], ['*'], ['x\r\ny'], ['x\ny'], ['nul\u0000'], ['a/b'], ['..'], ['a..b'], ['.lead'], ['a.'], [''], ['a.\u0085'], ['\udc00x'],
  ])('CREATE and RENAME refuse %j (InvalidInput) and change nothing', async (name) => {
    await box.create('Source');
    const before = (await readdir(root)).sort();
    await expect(box.create(name)).rejects.toBeInstanceOf(InvalidInput);
    await expect(box.rename('Source', name)).rejects.toBeInstanceOf(InvalidInput);
    expect((await readdir(root)).sort()).toEqual(before);
    expect((await readdir(dir)).sort()).toEqual(['alice']);
  });

  it('names with wildcards that another program created can still be opened', async () => {
    // Dovecot refuses `%`/`*` only for new names; an existing `.a%b` stays usable.
    for (const sub of ['cur', 'new', 'tmp']) await import('node:fs/promises').then((fs) => fs.mkdir(path.join(root, '.a%b', sub), { recursive: true }));
    expect((await box.list()).map((f) => f.name)).toContain('a%b');
    const f = await box.open('a%b');
    expect(f.count()).toBe(0);
    await f.close();
  });

  it('gives \\Recent to exactly one of two sessions that have the folder open', async () => {
    const other = await store.openMailbox(root);
    const a = await box.open('INBOX');
    const b = await other.open('INBOX');
    await writeFile(path.join(root, 'new', '1700000000.1_1.mda.example'), 'Subject: one\n\nx\n');
    await writeFile(path.join(root, 'new', '1700000001.1_1.mda.example'), 'Subject: two\n\nx\n');
    const [ca, cb] = await Promise.all([a.sync(), b.sync()]);
    expect(ca.added).toEqual([1, 2]);
    expect(cb.added).toEqual([1, 2]);
    for (const uid of [1, 2]) expect([a.isRecent(uid), b.isRecent(uid)].filter(Boolean)).toHaveLength(1);
    expect(a.status().recent + b.status().recent).toBe(2);
    // a third session opened later gets none
    const c = await box.open('INBOX');
    expect([c.isRecent(1), c.isRecent(2), c.status().recent]).toEqual([false, false, 0]);
    // an expunge takes \Recent away with the message
    const holder = a.isRecent(1) ? a : b;
    await c.expunge([1]);
    await holder.sync();
    expect(holder.isRecent(1)).toBe(false);
    for (const f of [a, b, c]) await f.close();
    await other.close();
  });

  it('STATUS counts \\Recent without taking it from the session that selects the folder next', async () => {
    await writeFile(path.join(root, 'new', '1700000000.1_1.mda.example'), 'Subject: one\n\nx\n');
    expect((await box.status('INBOX')).recent).toBe(1);
    expect((await box.status('INBOX')).recent).toBe(1);
    const f = await box.open('INBOX');
    expect([f.isRecent(1), f.status().recent]).toEqual([true, 1]);
    expect((await box.status('INBOX')).recent).toBe(0); // given to that session now
    await f.close();
  });

  it('sync() reports changes against each session\'s own view; sequence numbers stay until then', async () => {
    for (let i = 1; i <= 5; i++) await box.append('INBOX', MSG(i));
    const a = await box.open('INBOX');
    const b = await box.open('INBOX');
    await a.setFlags([2, 4], 'add', ['\\Flagged']);
    await a.expunge([3]);
    await box.append('INBOX', MSG(6));
    // b has not synced: its view is unchanged, and UIDs that left still have their numbers
    expect(uidsOf(b)).toEqual([1, 2, 3, 4, 5]);
    expect(b.seqOf(3)).toBe(3);
    expect(b.meta(3)).toBeUndefined();
    expect(b.meta(2)!.flags).toEqual(['\\Flagged']);
    const changes = await b.sync();
    expect(changes.added).toEqual([6]);
    expect(changes.expunged).toEqual([3]);
    expect(changes.flagged.map((m) => [m.uid, m.flags])).toEqual([[2, ['\\Flagged']], [4, ['\\Flagged']]]);
    expect(uidsOf(b)).toEqual([1, 2, 4, 5, 6]);
    expect([b.seqOf(3), b.seqOf(6), b.uidAt(0), b.uidAt(6)]).toEqual([0, 5, 0, 0]);
    // nothing changed since: an empty diff
    expect(await b.sync()).toEqual({ added: [], flagged: [], expunged: [] });
    // the deprecated messages() still works for old callers
    expect(b.messages().map((m) => m.uid)).toEqual([1, 2, 4, 5, 6]);
    await a.close();
    await b.close();
  });
});
