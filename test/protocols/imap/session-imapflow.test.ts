import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImapDaemon, type ImapDaemon } from '../../helpers/imap-daemon.js';
import { tempDir } from '../../helpers/tmp.js';

const message = (subject: string, body = 'Hello there.\r\n') =>
  `From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.test>\r\n\r\n${body}`;

describe('IMAP with imapflow against the daemon', () => {
  let d: ImapDaemon;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    d = await startImapDaemon(t.dir);
  }, 30_000);
  afterAll(async () => {
    await d?.stop();
    await cleanup?.();
  });

  it('logs in, lists the special-use folders, creates, renames and deletes', async () => {
    const c = await d.client();
    const names = (await c.list()).map((f) => f.path);
    expect(names).toEqual(expect.arrayContaining(['INBOX', 'Drafts', 'Sent', 'Trash', 'Junk']));
    const sent = (await c.list()).find((f) => f.path === 'Sent')!;
    expect(sent.specialUse).toBe('\\Sent');
    await c.mailboxCreate('Work');
    await c.mailboxCreate(['Work', 'Projects']);
    expect((await c.list()).map((f) => f.path)).toEqual(expect.arrayContaining(['Work', 'Work.Projects']));
    await c.mailboxRename('Work.Projects', 'Work.Done');
    expect((await c.list()).map((f) => f.path)).toContain('Work.Done');
    await c.mailboxDelete('Work.Done');
    expect((await c.list()).map((f) => f.path)).not.toContain('Work.Done');
    await c.mailboxCreate('Entwürfe');
    expect((await c.list()).map((f) => f.path)).toContain('Entwürfe');
    const st = await c.status('INBOX', { messages: true, uidNext: true, unseen: true });
    expect(st && st.messages).toBe(0);
    await c.logout();
  });

  it('appends, fetches, stores, searches, copies, moves and expunges', async () => {
    const c = await d.client();
    const a = await c.append('INBOX', message('first'), ['\\Flagged']);
    expect(a).toMatchObject({ uid: 1 });
    await c.append('INBOX', message('second'));
    await c.append('INBOX', message('third'));
    const lock = await c.getMailboxLock('INBOX');
    try {
      expect(c.mailbox && c.mailbox.exists).toBe(3);
      const all = [];
      for await (const m of c.fetch('1:*', { uid: true, flags: true, size: true, internalDate: true })) all.push(m);
      expect(all.map((m) => m.uid)).toEqual([1, 2, 3]);
      expect([...all[0]!.flags!]).toContain('\\Flagged');
      const one = await c.fetchOne('2', { source: true });
      expect(one && one.source!.toString()).toBe(message('second'));
      const env = await c.fetchOne('1', { envelope: true, bodyStructure: true, headers: ['subject'] });
      expect(env && env.envelope!.subject).toBe('first');
      expect(env && env.envelope!.from![0]).toMatchObject({ name: 'Bob', address: 'bob@example.test' });
      expect(env && env.bodyStructure).toMatchObject({ type: 'text/plain', size: 14 });
      expect(env && env.headers!.toString()).toBe('Subject: first\r\n\r\n');
      await c.messageFlagsAdd('2', ['\\Seen']);
      await c.messageFlagsAdd('1:2', ['$Important']);
      const f1 = await c.fetchOne('1', { flags: true });
      expect(f1 && [...f1.flags!].sort()).toEqual(['$Important', '\\Flagged']);
      expect(await c.search({ flagged: true })).toEqual([1]);
      expect(await c.search({ seen: false }, { uid: true })).toEqual([1, 3]);
      const copied = await c.messageCopy('1', 'Trash');
      expect(copied).toMatchObject({ destination: 'Trash' });
      expect(copied && [...copied.uidMap!.entries()]).toEqual([[1, 1]]);
      const moved = await c.messageMove('3', 'Trash', { uid: true });
      expect(moved && [...moved.uidMap!.entries()]).toEqual([[3, 2]]);
      expect(c.mailbox && c.mailbox.exists).toBe(2);
      await c.messageDelete('1');
      expect(c.mailbox && c.mailbox.exists).toBe(1);
    } finally {
      lock.release();
    }
    const trash = await c.status('Trash', { messages: true });
    expect(trash && trash.messages).toBe(2);
    await c.logout();
  });

  it('IDLE sees a delivery over LMTP and a flag change by another session', async () => {
    const c = await d.client('bob@example.test', 'bob-pw');
    const other = await d.client('bob@example.test', 'bob-pw');
    await c.mailboxOpen('INBOX');
    const exists = new Promise<number>((resolve) => c.on('exists', (e: { count: number }) => resolve(e.count)));
    void c.idle().catch(() => {}); // resolves only when IDLE ends
    const lmtp = nodemailer.createTransport({ host: '127.0.0.1', port: d.ports.lmtp, lmtp: true, secure: false, ignoreTLS: true });
    await lmtp.sendMail({ envelope: { from: 'x@example.org', to: ['bob@example.test'] }, raw: message('delivered') });
    expect(await exists).toBe(1);
    const flagged = new Promise<string[]>((resolve) => c.on('flags', (e: { flags: Set<string> }) => resolve([...e.flags])));
    await other.mailboxOpen('INBOX');
    await other.messageFlagsAdd('1', ['\\Flagged']);
    expect(await flagged).toContain('\\Flagged');
    await other.logout();
    await c.logout();
  });
});
