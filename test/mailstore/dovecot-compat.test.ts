/**
 * Maildir compatibility with real Dovecot (doveadm on the same Maildir, no daemon), both ways:
 * what Dovecot writes tsmail reads with the same UIDs, UIDVALIDITY, flags and keywords, and what
 * tsmail writes doveadm reads the same way; and both writing alternately never collide.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { MaildirStore } from '../../src/mailstore/maildir/store.js';
import type { Mailbox } from '../../src/mailstore/types.js';
import { cleanup, doveadm, doveadmAvailable, doveadmOk, giveToDovecot, makeDovecotHome, parseFetch, type DovecotHome } from './helpers/dovecot.js';

const available = doveadmAvailable();
const MSG = (n: number) => `From: x@example.test\r\nSubject: m${n}\r\n\r\nbody ${n}\r\n`;

describe.skipIf(!available.ok)('Maildir interop with Dovecot', () => {
  let h: DovecotHome;
  let store: MaildirStore;
  let box: Mailbox | undefined;

  beforeEach(async () => {
    h = await makeDovecotHome();
    store = new MaildirStore({ log: silentLogger, hostname: 'tsmail.test', specialUse: [] });
  });
  afterEach(async () => {
    await box?.close();
    box = undefined;
    await cleanup(h);
  });

  const fetchAll = async (mailbox: string) =>
    parseFetch(await doveadmOk(h, ['fetch', 'uid flags', 'mailbox', mailbox, 'all'])).map((m) => [m.uid, [...m.flags].sort()]);
  const uidValidityOf = async (mailbox: string) =>
    Number(/uidvalidity=(\d+)/.exec(await doveadmOk(h, ['mailbox', 'status', 'uidvalidity', mailbox]))?.[1]);
  const tsmailView = async (mailbox: string) => {
    const f = await box!.open(mailbox);
    const view = f.messages().map((m) => [m.uid, [...m.flags].sort()]);
    const status = f.status();
    await f.close();
    return { view, status };
  };

  it('reads what Dovecot wrote: folders, UIDs, UIDVALIDITY, flags, keywords, expunges', async () => {
    for (const name of ['Sent', 'Archive.2024', 'Entwürfe']) await doveadmOk(h, ['mailbox', 'create', name]);
    await doveadmOk(h, ['mailbox', 'subscribe', 'Sent']);
    for (let i = 1; i <= 5; i++) await doveadmOk(h, ['save'], MSG(i));
    for (let i = 1; i <= 2; i++) await doveadmOk(h, ['save', '-m', 'Archive.2024'], MSG(10 + i));
    await doveadmOk(h, ['flags', 'add', '\\Seen $Label1 Junk', 'mailbox', 'INBOX', 'uid', '2']);
    await doveadmOk(h, ['flags', 'add', '\\Flagged \\Answered', 'mailbox', 'INBOX', 'uid', '3']);
    await doveadmOk(h, ['flags', 'add', '\\Draft Junk', 'mailbox', 'Archive.2024', 'uid', '2']);
    await doveadmOk(h, ['expunge', 'mailbox', 'INBOX', 'uid', '4']);
    const dovecotInbox = await fetchAll('INBOX');
    const dovecotArchive = await fetchAll('Archive.2024');
    const validity = await uidValidityOf('INBOX');

    box = await store.openMailbox(h.mail);
    const list = await box.list();
    expect(list.map((f) => f.name).sort()).toEqual(['Archive', 'Archive.2024', 'Entwürfe', 'INBOX', 'Sent']);
    expect(list.find((f) => f.name === 'Archive')?.attributes).toContain('\\Noselect');
    expect(list.find((f) => f.name === 'Sent')?.subscribed).toBe(true);
    const inbox = await tsmailView('INBOX');
    expect(inbox.view).toEqual(dovecotInbox);
    expect(inbox.view.map(([uid]) => uid)).toEqual([1, 2, 3, 5]);
    expect(inbox.status.uidValidity).toBe(validity);
    expect(inbox.status.uidNext).toBe(6);
    expect((await tsmailView('Archive.2024')).view).toEqual(dovecotArchive);
    expect((await tsmailView('Archive.2024')).status.uidValidity).toBe(await uidValidityOf('Archive.2024'));
  });

  it('writes what Dovecot reads: folders, UIDs, flags, keywords, expunges', async () => {
    box = await store.openMailbox(h.mail);
    await box.create('Sent');
    await box.create('Archive.2024');
    await box.create('Entwürfe');
    for (let i = 1; i <= 4; i++) await box.append('INBOX', Buffer.from(MSG(i)));
    await box.append('Archive.2024', Buffer.from(MSG(9)), { flags: ['\\Seen', 'Project-X'] });
    const inbox = await box.open('INBOX');
    await inbox.setFlags([1], 'add', ['\\Seen', '$Label1']);
    await inbox.setFlags([2], 'add', ['\\Flagged', '\\Answered', 'Junk']);
    await inbox.setFlags([3], 'add', ['\\Deleted']);
    await inbox.expunge();
    await inbox.copyTo([2], 'Sent');
    const validity = inbox.status().uidValidity;
    await inbox.close();
    await giveToDovecot(h, h.mail);

    const names = (await doveadmOk(h, ['mailbox', 'list'])).split('\n').filter(Boolean).sort();
    // Dovecot lists the missing parent of Archive.2024 as well, as tsmail does (\Noselect)
    expect(names).toEqual(['Archive', 'Archive.2024', 'Entwürfe', 'INBOX', 'Sent']);
    expect(await fetchAll('INBOX')).toEqual([
      [1, ['$Label1', '\\Seen']],
      [2, ['Junk', '\\Answered', '\\Flagged']],
      [4, []],
    ]);
    expect(await fetchAll('Archive.2024')).toEqual([[1, ['Project-X', '\\Seen']]]);
    expect(await fetchAll('Sent')).toEqual([[1, ['Junk', '\\Answered', '\\Flagged']]]);
    expect(await uidValidityOf('INBOX')).toBe(validity);
    // the bodies Dovecot serves are the ones tsmail stored
    const text = await doveadmOk(h, ['fetch', 'text', 'mailbox', 'INBOX', 'uid', '4']);
    expect(text).toContain('body 4');
  });

  it('shares the UIDVALIDITY counter: folders created by either side never share a value', async () => {
    box = await store.openMailbox(h.mail);
    await box.create('Mine1');
    await box.status('Mine1');
    await giveToDovecot(h, h.mail);
    await doveadmOk(h, ['mailbox', 'create', 'Theirs1', 'Theirs2']);
    await box.create('Mine2');
    await box.delete('Mine1');
    await box.create('Mine1');
    const values = [];
    for (const name of ['INBOX', 'Mine1', 'Mine2']) values.push((await box.status(name)).uidValidity);
    await giveToDovecot(h, h.mail);
    for (const name of ['Theirs1', 'Theirs2']) values.push(await uidValidityOf(name));
    expect(new Set(values).size).toBe(values.length);
  });

  it('both writing alternately: UIDs never collide or change', async () => {
    box = await store.openMailbox(h.mail);
    const expected = new Map<number, string>();
    for (let round = 0; round < 4; round++) {
      const mine = await box.append('INBOX', Buffer.from(MSG(100 + round)));
      expected.set(mine.uid, `m${100 + round}`);
      await giveToDovecot(h, h.mail);
      await doveadmOk(h, ['save'], MSG(200 + round));
      const theirs = parseFetch(await doveadmOk(h, ['fetch', 'uid hdr.subject', 'mailbox', 'INBOX', 'all']));
      for (const m of theirs) {
        const subject = String(m['hdr.subject'] ?? '');
        if (!expected.has(m.uid)) expected.set(m.uid, subject);
        expect(expected.get(m.uid), `UID ${m.uid} changed meaning`).toBe(subject);
      }
    }
    const inbox = await box.open('INBOX');
    const seen = new Map<number, string>();
    for (const m of inbox.messages()) {
      let text = '';
      for await (const c of await inbox.read(m.uid)) text += c.toString();
      seen.set(m.uid, /Subject: (\S+)/.exec(text)![1]!);
    }
    await inbox.close();
    expect([...seen].sort((a, b) => a[0] - b[0])).toEqual([...expected].sort((a, b) => a[0] - b[0]));
    expect(seen.size).toBe(8);
    expect(new Set(seen.values()).size).toBe(8);
  });

  it('an open folder sees what Dovecot changes on the same Maildir through its watcher: flags, expunges, new mail', async () => {
    for (let i = 1; i <= 3; i++) await doveadmOk(h, ['save'], MSG(i));
    box = await store.openMailbox(h.mail);
    const inbox = await box.open('INBOX');
    expect(inbox.count()).toBe(3);
    await giveToDovecot(h, h.mail);
    let notified = false;
    let wake: () => void = () => {};
    inbox.onChange(() => {
      notified = true;
      wake();
    });
    const seen = { added: [] as number[], flagged: new Map<number, string[]>(), expunged: [] as number[] };
    /** Waits for the watcher (nobody calls sync() otherwise) until `done` holds. */
    const until = async (done: () => boolean) => {
      while (!done()) {
        if (!notified) await new Promise<void>((resolve) => (wake = resolve));
        notified = false;
        const c = await inbox.sync();
        seen.added.push(...c.added);
        seen.expunged.push(...c.expunged);
        for (const m of c.flagged) seen.flagged.set(m.uid, [...m.flags].sort());
      }
    };
    const changed = until(() => seen.flagged.has(2));
    await doveadmOk(h, ['flags', 'add', '\\Flagged Later', 'mailbox', 'INBOX', 'uid', '2']);
    await changed;
    expect(seen.flagged.get(2)).toEqual(['Later', '\\Flagged']);
    const gone = until(() => seen.expunged.includes(1));
    await doveadmOk(h, ['expunge', 'mailbox', 'INBOX', 'uid', '1']);
    await gone;
    const arrived = until(() => seen.added.includes(4));
    await doveadmOk(h, ['save'], MSG(4));
    await arrived;
    expect(Array.from({ length: inbox.count() }, (_, i) => inbox.uidAt(i + 1))).toEqual([2, 3, 4]);
    expect(seen.expunged).toEqual([1]);
    expect(inbox.meta(2)!.flags.sort()).toEqual(['Later', '\\Flagged']);
    await inbox.close();
  });

  it('DELETE of a parent with children: tsmail leaves the Maildir as Dovecot does (parent listed, not selectable, creatable again)', async () => {
    box = await store.openMailbox(h.mail);
    await box.create('Lists');
    await box.create('Lists.Node');
    await box.append('Lists', Buffer.from(MSG(1)));
    await box.delete('Lists');
    await giveToDovecot(h, h.mail);
    expect((await doveadmOk(h, ['mailbox', 'list'])).split('\n').filter(Boolean).sort()).toEqual(['INBOX', 'Lists', 'Lists.Node']);
    const status = await doveadm(h, ['mailbox', 'status', 'messages', 'Lists']);
    expect(status.code).not.toBe(0);
    expect(status.stderr).toMatch(/doesn't exist/);
    // Dovecot's own DELETE of such a parent leaves the same state: the two agree on it
    await doveadmOk(h, ['mailbox', 'create', 'Other', 'Other.Node']);
    await doveadmOk(h, ['mailbox', 'delete', 'Other']);
    const list = await box.list();
    for (const name of ['Lists', 'Other']) expect(list.find((f) => f.name === name)?.attributes).toEqual(['\\Noselect', '\\HasChildren']);
    await doveadmOk(h, ['mailbox', 'create', 'Lists']);
    expect((await box.status('Lists')).messages).toBe(0);
  });
});
