/**
 * Local delivery goes through the mail store, so a folder that a session of this process has
 * open (IMAP SELECT, IDLE) hears of new mail at once, as an in-process event. The store here has
 * no file system watcher at all (an inert one is injected): only that event can tell the folder.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { LocalDelivery } from '../../src/delivery/local-delivery.js';
import { Directory } from '../../src/directory/directory.js';
import { PasswdFileBackend } from '../../src/directory/passwd-file/backend.js';
import { PasswordHasher } from '../../src/directory/schemes/index.js';
import { MaildirStore } from '../../src/mailstore/maildir/store.js';
import { tempDir } from '../helpers/tmp.js';

describe('delivery events reach open folders in the same process', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let hasher: PasswordHasher;
  let directory: Directory;
  let store: MaildirStore;
  let watchersStarted: number;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeFile(path.join(dir, 'users'), 'alice@example.test:{PLAIN}x:::::\nbob@example.test:{PLAIN}x:::::\n');
    await writeFile(path.join(dir, 'aliases'), 'team@example.test alice@example.test, bob@example.test\n');
    const backend = new PasswdFileBackend({ passwdFile: path.join(dir, 'users'), aliasesFile: path.join(dir, 'aliases'), domainsFile: path.join(dir, 'domains'), configDomains: ['example.test'] });
    hasher = new PasswordHasher({ defaultScheme: 'PLAIN', workers: 0 });
    directory = new Directory(backend, hasher, { mailLocation: `maildir:${dir}/vmail/%d/%n`, recipientDelimiter: '+' }, silentLogger);
    watchersStarted = 0;
    store = new MaildirStore({ log: silentLogger, watch: () => ({ start: () => void watchersStarted++, stop: () => {} }) });
  });
  afterEach(async () => {
    await hasher.close();
    await cleanup();
  });

  async function openInbox(user: string) {
    const found = (await directory.lookupUser(user))!;
    const mailbox = await store.openMailbox(found.maildir);
    return { mailbox, inbox: await mailbox.open('INBOX') };
  }

  it('tells every session that has the INBOX open, for each recipient of one delivery', async () => {
    const a = await openInbox('alice@example.test');
    const b = await openInbox('bob@example.test');
    const second = await openInbox('alice@example.test'); // a second session of alice
    const heard = (inbox: typeof a.inbox) => new Promise<void>((resolve) => inbox.onChange(resolve));
    const events = Promise.all([heard(a.inbox), heard(b.inbox), heard(second.inbox)]);
    expect(watchersStarted).toBe(2); // one (inert) watcher per open folder, not per session

    const tx = new LocalDelivery({ directory, store, log: silentLogger }).begin({ sender: 'x@remote.example' });
    expect(await tx.addRecipient('team@example.test')).toBeNull();
    expect(await tx.commit(Buffer.from('Subject: hi\r\n\r\nhello\r\n'))).toEqual([{ kind: 'delivered', mailboxes: ['alice@example.test', 'bob@example.test'] }]);
    await events;

    // What a session does on the event (IDLE: untagged EXISTS): its sync shows the new UID.
    for (const s of [a, b, second]) expect((await s.inbox.sync()).added).toEqual([1]);
    for (const s of [a, b, second]) {
      await s.inbox.close();
      await s.mailbox.close();
    }
  });

  it('says nothing to folders of other users, and nothing when the delivery failed', async () => {
    const bob = await openInbox('bob@example.test');
    let told = 0;
    bob.inbox.onChange(() => told++);
    const delivery = new LocalDelivery({ directory, store, log: silentLogger });
    const tx = delivery.begin({ sender: '' });
    expect(await tx.addRecipient('alice@example.test')).toBeNull();
    await tx.commit(Buffer.from('Subject: for alice\r\n\r\n'));
    // then one that bob does get: its event proves the first one would have arrived by now
    const heard = new Promise<void>((resolve) => bob.inbox.onChange(resolve));
    const tx2 = delivery.begin({ sender: '' });
    expect(await tx2.addRecipient('bob@example.test')).toBeNull();
    await tx2.commit(Buffer.from('Subject: for bob\r\n\r\n'));
    await heard;
    expect(told).toBe(1);
    expect((await bob.inbox.sync()).added).toEqual([1]);
    await bob.inbox.close();
    await bob.mailbox.close();
  });
});
