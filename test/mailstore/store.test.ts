import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInput, NotFound, PolicyReject, QuotaExceeded } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { MaildirStore } from '../../src/mailstore/maildir/store.js';
import type { Mailbox } from '../../src/mailstore/types.js';
import { readAll } from '../helpers/child.js';
import { tempDir } from '../helpers/tmp.js';

const MSG = (n: number) => `From: a@example.test\r\nSubject: message ${n}\r\n\r\nbody ${n}\r\nline two\r\n`;

async function readText(stream: AsyncIterable<Buffer | string>): Promise<string> {
  return (await readAll(stream)).toString();
}

describe('Maildir store', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let store: MaildirStore;
  let root: string;
  let box: Mailbox;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    root = path.join(dir, 'alice');
    store = new MaildirStore({ log: silentLogger, hostname: 'test.host' });
    box = await store.openMailbox(root);
  });
  afterEach(async () => {
    await box.close();
    await cleanup();
  });

  it('creates and subscribes the special-use folders on first login', async () => {
    const list = await box.list();
    expect(list.map((f) => f.name)).toEqual(['INBOX', 'Drafts', 'Junk', 'Sent', 'Trash']);
    expect(list.find((f) => f.name === 'Sent')).toEqual({ name: 'Sent', attributes: ['\\HasNoChildren', '\\Sent'], subscribed: true });
    expect(list.find((f) => f.name === 'INBOX')?.subscribed).toBe(false);
    expect((await readdir(root)).sort()).toEqual(expect.arrayContaining(['.Drafts', '.Junk', '.Sent', '.Trash', 'cur', 'new', 'tmp', 'subscriptions']));
    expect(await readFile(path.join(root, '.Sent/maildirfolder'), 'utf8')).toBe('');
  });

  it('appends with flags and internal date, and reads back byte-identical CRLF content', async () => {
    const when = new Date('2024-05-06T07:08:09Z');
    const a = await box.append('INBOX', Buffer.from(MSG(1)), { flags: ['\\Seen', '$Label1'], internalDate: when });
    const b = await box.append('INBOX', Buffer.from(MSG(2)));
    expect(a.uid).toBe(1);
    expect(b.uid).toBe(2);
    expect(b.uidValidity).toBe(a.uidValidity);
    const inbox = await box.open('INBOX');
    const [m1, m2] = inbox.messages();
    expect(m1).toMatchObject({ uid: 1, flags: ['\\Seen', '$Label1'], size: Buffer.byteLength(MSG(1)) });
    expect(m1!.internalDate.getTime()).toBe(when.getTime());
    expect(m2!.flags).toEqual([]);
    expect(await readText(await inbox.read(1))).toBe(MSG(1));
    expect(await readText(await inbox.read(2, { start: 5, end: 20 }))).toBe(MSG(2).slice(5, 20));
    expect(inbox.status()).toMatchObject({ messages: 2, unseen: 1, uidNext: 3, size: Buffer.byteLength(MSG(1)) + Buffer.byteLength(MSG(2)) });
    const uidlist = await readFile(path.join(root, 'dovecot-uidlist'), 'utf8');
    expect(uidlist).toMatch(/^3 V\d+ N3 G[0-9a-f]{32}\n1 :\d+\.M\d+P\d+\.test\.host,S=\d+,W=\d+\n2 :/);
    expect(await readFile(path.join(root, 'dovecot-keywords'), 'utf8')).toBe('0 $Label1\n');
    await inbox.close();
  });

  it('changes flags and keywords in file names, with CONDSTORE modseqs', async () => {
    await box.append('INBOX', Buffer.from(MSG(1)));
    await box.append('INBOX', Buffer.from(MSG(2)));
    const inbox = await box.open('INBOX');
    const before = inbox.status().highestModseq;
    const r = await inbox.setFlags([1, 2], 'add', ['\\Flagged', 'Junk', '\\seen']);
    expect(r.changed.map((m) => m.flags)).toEqual([['\\Flagged', '\\Seen', 'Junk'], ['\\Flagged', '\\Seen', 'Junk']]);
    expect(r.changed[0]!.modseq).toBeGreaterThan(before);
    const files = (await readdir(path.join(root, 'cur'))).sort();
    expect(files.every((f) => f.endsWith(':2,FSa'))).toBe(true);
    await inbox.setFlags([1], 'remove', ['\\Seen']);
    await inbox.setFlags([2], 'replace', ['\\Answered']);
    await inbox.sync();
    expect(inbox.messages().map((m) => m.flags)).toEqual([['\\Flagged', 'Junk'], ['\\Answered']]);
    // UNCHANGEDSINCE: a message modified after the given modseq is not touched
    const stale = await inbox.setFlags([1], 'add', ['\\Deleted'], before);
    expect(stale).toEqual({ changed: [], failed: [1] });
    await expect(inbox.setFlags([1], 'add', ['\\Bogus'])).rejects.toBeInstanceOf(InvalidInput);
    await expect(inbox.setFlags([1], 'add', ['bad keyword'])).rejects.toBeInstanceOf(InvalidInput);
    await inbox.close();
  });

  it('keeps Maildir `P` (passed), which has no IMAP flag, as Dovecot does', async () => {
    await box.open('INBOX').then((f) => f.close());
    await writeFile(path.join(root, 'cur', '1700000002.1_1.mda:2,PS'), 'Subject: p\n\nx\n');
    const inbox = await box.open('INBOX');
    expect(inbox.messages()[0]!.flags).toEqual(['\\Seen']);
    await inbox.setFlags([1], 'replace', ['\\Flagged', '$Forwarded']);
    expect(await readdir(path.join(root, 'cur'))).toEqual(['1700000002.1_1.mda:2,FPa']);
    expect(await readFile(path.join(root, 'dovecot-keywords'), 'utf8')).toBe('0 $Forwarded\n');
    await inbox.close();
  });

  it('copies and moves keeping flags and dates, returning COPYUID maps', async () => {
    await box.append('INBOX', Buffer.from(MSG(1)), { flags: ['\\Seen', 'Important'] });
    await box.append('INBOX', Buffer.from(MSG(2)));
    await box.create('Archive.2024');
    const inbox = await box.open('INBOX');
    const copied = await inbox.copyTo([1, 2], 'Archive.2024');
    expect([...copied.map]).toEqual([[1, 1], [2, 2]]);
    const moved = await inbox.moveTo([1], 'Archive.2024');
    expect([...moved.map]).toEqual([[1, 3]]);
    await inbox.sync();
    expect(inbox.messages().map((m) => m.uid)).toEqual([2]);
    const archive = await box.open('Archive.2024');
    expect(archive.messages().map((m) => [m.uid, m.flags])).toEqual([[1, ['\\Seen', 'Important']], [2, []], [3, ['\\Seen', 'Important']]]);
    expect(await readText(await archive.read(3))).toBe(MSG(1));
    expect(await readFile(path.join(root, '.Archive.2024/dovecot-keywords'), 'utf8')).toBe('0 Important\n');
    await archive.close();
    await inbox.close();
  });

  it('expunges \\Deleted messages and never reuses their UIDs', async () => {
    for (let i = 1; i <= 3; i++) await box.append('INBOX', Buffer.from(MSG(i)));
    const inbox = await box.open('INBOX');
    await inbox.setFlags([2], 'add', ['\\Deleted']);
    expect(await inbox.expunge()).toEqual([2]);
    const changes = await inbox.sync();
    expect(changes.expunged).toEqual([2]);
    expect((await box.append('INBOX', Buffer.from(MSG(4)))).uid).toBe(4);
    await inbox.sync();
    expect(inbox.messages().map((m) => m.uid)).toEqual([1, 3, 4]);
    await inbox.close();
  });

  it('sessions see each other\'s changes and are notified', async () => {
    const other = await store.openMailbox(root);
    const a = await box.open('INBOX');
    const b = await other.open('INBOX');
    let notified = 0;
    b.onChange(() => notified++);
    await box.append('INBOX', Buffer.from(MSG(1)));
    expect(notified).toBeGreaterThan(0);
    expect((await b.sync()).added).toEqual([1]);
    await a.sync();
    await a.setFlags([1], 'add', ['\\Seen']);
    const changes = await b.sync();
    expect(changes.flagged.map((m) => [m.uid, m.flags])).toEqual([[1, ['\\Seen']]]);
    await a.expunge([1]);
    expect((await b.sync()).expunged).toEqual([1]);
    await a.close();
    await b.close();
    await other.close();
  });

  it('notifies an idle session of mail another process drops into new/, without being asked', async () => {
    const inbox = await box.open('INBOX');
    const notified = new Promise<void>((resolve) => inbox.onChange(resolve));
    await writeFile(path.join(root, 'new', '1700000001.999_1.other.example'), 'Subject: outside\n\nhi\n');
    await notified; // the shared watcher noticed it; no sync() was called
    expect((await inbox.sync()).added).toEqual([1]);
    await inbox.close();
  });

  it('picks up mail dropped into new/ by another MDA, as \\Recent, and moves it to cur/', async () => {
    const inbox = await box.open('INBOX');
    await writeFile(path.join(root, 'new', '1700000000.12345_1.mda.example'), 'Subject: from procmail\nX: y\n\nhi\n');
    const changes = await inbox.sync();
    expect(changes.added).toEqual([1]);
    expect(inbox.status().recent).toBe(1);
    expect((inbox as unknown as { isRecent(uid: number): boolean }).isRecent(1)).toBe(true);
    expect(await readdir(path.join(root, 'new'))).toEqual([]);
    expect(await readdir(path.join(root, 'cur'))).toEqual(['1700000000.12345_1.mda.example:2,']);
    expect(inbox.messages()[0]!.size).toBe('Subject: from procmail\r\nX: y\r\n\r\nhi\r\n'.length);
    expect(await readText(await inbox.read(1))).toBe('Subject: from procmail\r\nX: y\r\n\r\nhi\r\n');
    // a second session does not get \Recent for it again
    const other = await store.openMailbox(root);
    const second = await other.open('INBOX');
    expect(second.status().recent).toBe(0);
    await second.close();
    await other.close();
    await inbox.close();
  });

  it('creates, renames (with children) and deletes folders; \\Noselect parents', async () => {
    await box.create('Projects.Alpha');
    let list = await box.list();
    expect(list.find((f) => f.name === 'Projects')?.attributes).toEqual(['\\Noselect', '\\HasChildren']);
    await box.create('Projects');
    await box.append('Projects.Alpha', Buffer.from(MSG(1)));
    await box.subscribe('Projects.Alpha', true);
    await box.rename('Projects', 'Work');
    list = await box.list();
    expect(list.map((f) => f.name)).toEqual(expect.arrayContaining(['Work', 'Work.Alpha']));
    expect(list.map((f) => f.name)).not.toContain('Projects');
    expect(list.find((f) => f.name === 'Work.Alpha')?.subscribed).toBe(true);
    expect((await box.status('Work.Alpha')).messages).toBe(1);
    await box.delete('Work.Alpha');
    await expect(box.open('Work.Alpha')).rejects.toBeInstanceOf(NotFound);
    await expect(box.delete('INBOX')).rejects.toBeInstanceOf(PolicyReject);
    await expect(box.create('Work')).rejects.toThrow(/already exists/);
  });

  it('renaming INBOX moves its messages and leaves INBOX empty (RFC 9051 6.3.6)', async () => {
    await box.append('INBOX', Buffer.from(MSG(1)));
    await box.append('INBOX', Buffer.from(MSG(2)));
    await box.rename('INBOX', 'Old');
    expect((await box.status('INBOX')).messages).toBe(0);
    expect((await box.status('Old')).messages).toBe(2);
  });

  it.each([
    ['..'], ['../etc'], ['a/b'], ['a\u0000b'], ['.hidden'], ['a..b'], ['trailing.'], ['x'.repeat(300)], ['~root'], ['bad\u0001'], ['\ud800'],
  ])('refuses the folder name %j and creates nothing outside the Maildir', async (name) => {
    const before = (await readdir(dir)).sort();
    await expect(box.create(name)).rejects.toBeInstanceOf(InvalidInput);
    expect((await readdir(dir)).sort()).toEqual(before);
  });

  it('refuses APPEND and COPY over quota with QuotaExceeded; Trash gets its extra room', async () => {
    const qstore = new MaildirStore({ log: silentLogger, hostname: 'test.host', quotaExtra: { Trash: 200 } });
    const q = await qstore.openMailbox(path.join(dir, 'bob'), { bytes: 250, messages: null });
    const big = Buffer.from('Subject: q\r\n\r\n' + 'x'.repeat(100) + '\r\n'); // 113 bytes on disk
    await q.append('INBOX', big);
    await q.append('INBOX', big);
    await expect(q.append('INBOX', big)).rejects.toBeInstanceOf(QuotaExceeded);
    expect(await readdir(path.join(dir, 'bob/tmp'))).toEqual([]);
    expect((await q.status('INBOX')).messages).toBe(2);
    // Trash may hold 200 bytes more: moving a message there and adding one more fits
    await q.append('Trash', big);
    const inbox = await q.open('INBOX');
    await expect(inbox.copyTo([1, 2], 'Sent')).rejects.toBeInstanceOf(QuotaExceeded);
    await inbox.expunge([2]);
    expect(await q.quota()).toEqual({ usedBytes: 226, limitBytes: 250, usedMessages: 2, limitMessages: null });
    await inbox.close();
    await q.close();
  });

  it('assigns unique UIDs under concurrent appends from many sessions', async () => {
    const boxes = await Promise.all(Array.from({ length: 5 }, () => store.openMailbox(root)));
    const results = await Promise.all(boxes.flatMap((b, i) => Array.from({ length: 20 }, (_, j) => b.append('INBOX', Buffer.from(MSG(i * 100 + j))))));
    const uids = results.map((r) => r.uid).sort((x, y) => x - y);
    expect(uids).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    for (const b of boxes) await b.close();
  });
});
