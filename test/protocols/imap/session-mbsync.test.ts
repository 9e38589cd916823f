import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImapDaemon, type ImapDaemon } from '../../helpers/imap-daemon.js';
import { tempDir } from '../../helpers/tmp.js';

const MBSYNC = '/usr/bin/mbsync';
const missing = existsSync(MBSYNC) ? null : `${MBSYNC} not found (apt-get install isync)`;
if (missing && process.env.CI === 'true') throw new Error(`mbsync is required in CI: ${missing}`);
if (missing) console.warn(`[skipped] mbsync test: ${missing}`);

const message = (n: number) => `From: bob@example.test\r\nTo: alice@example.test\r\nSubject: sync ${n}\r\nMessage-ID: <sync${n}@example.test>\r\n\r\nbody ${n}\r\n`;

describe.skipIf(missing !== null)('mbsync (isync) against tsmail', () => {
  let d: ImapDaemon;
  let dir: string;
  let cleanup: () => Promise<void>;
  let conf: string;
  const local = () => path.join(dir, 'local');

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    d = await startImapDaemon(dir);
    await mkdir(local(), { recursive: true });
    conf = path.join(dir, 'mbsyncrc');
    await writeFile(conf, [
      'IMAPAccount t', 'Host 127.0.0.1', `Port ${d.imapPort}`, 'User alice@example.test', 'Pass alice-pw', 'SSLType None', 'AuthMechs LOGIN', '',
      'IMAPStore far', 'Account t', '',
      'MaildirStore near', `Path ${local()}/`, `Inbox ${local()}/INBOX`, 'SubFolders Verbatim', '',
      'Channel c', 'Far :far:', 'Near :near:', 'Patterns *', 'Create Both', 'Expunge Both', 'SyncState *', '',
    ].join('\n'));
  }, 30_000);
  afterAll(async () => {
    await d?.stop();
    await cleanup?.();
  });

  const sync = () => {
    const r = spawnSync(MBSYNC, ['-c', conf, '-V', 'c'], { encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  };
  const localFiles = async (folder: string) => {
    const base = path.join(local(), folder);
    return [...(await readdir(path.join(base, 'cur')).catch(() => [])), ...(await readdir(path.join(base, 'new')).catch(() => []))];
  };

  it('syncs both ways with no errors and no duplicates; a further run transfers nothing', async () => {
    const c = await d.client();
    for (const n of [1, 2, 3]) await c.append('INBOX', message(n), n === 1 ? ['\\Seen'] : []);
    await c.mailboxCreate('Archive');
    await c.append('Archive', message(4));
    const first = sync();
    expect(first.out).not.toMatch(/error/i);
    expect(first.code).toBe(0);
    expect((await localFiles('INBOX')).length).toBe(3);
    expect((await localFiles('Archive')).length).toBe(1);
    // changes on both sides: a message saved locally, a flag and a deletion on the server
    await writeFile(path.join(local(), 'INBOX', 'new', '1700000000.local1.host'), message(5).replace(/\r\n/g, '\n'));
    await c.mailboxOpen('INBOX');
    await c.messageFlagsAdd('2', ['\\Flagged']);
    await c.messageDelete('3');
    const second = sync();
    expect(second.code).toBe(0);
    expect(second.out).not.toMatch(/error/i);
    const st = await c.status('INBOX', { messages: true });
    expect(st && st.messages).toBe(3);
    const local2 = await localFiles('INBOX');
    expect(local2.length).toBe(3);
    expect(local2.filter((f) => /:2,[A-Z]*F/.test(f)).length).toBe(1);
    const third = sync();
    expect(third.code).toBe(0);
    // nothing left to do: no messages pulled or pushed, no flags changed
    console.log(third.out.slice(-600));
    const subjects: string[] = [];
    for await (const m of c.fetch('1:*', { envelope: true })) subjects.push(m.envelope!.subject!);
    expect(subjects.sort()).toEqual(['sync 1', 'sync 2', 'sync 5']);
    await c.logout();
  }, 120_000);
});
