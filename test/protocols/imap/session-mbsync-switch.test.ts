/**
 * Switching an account from Dovecot to tsmail on the same Maildir: an mbsync that synced the
 * account through Dovecot finds nothing to transfer once tsmail serves it — same UIDVALIDITY,
 * UIDs and flags, so no client re-downloads anything (issue 11). Dovecot runs as its `imap`
 * binary, pre-authenticated over mbsync's Tunnel, as user nobody on the Maildir tsmail serves.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImapDaemon, type ImapDaemon } from '../../helpers/imap-daemon.js';
import { tempDir } from '../../helpers/tmp.js';

const MBSYNC = '/usr/bin/mbsync';
const DOVECOT_IMAP = '/usr/lib/dovecot/imap';
const missing = !existsSync(MBSYNC)
  ? `${MBSYNC} not found (apt-get install isync)`
  : !existsSync(DOVECOT_IMAP)
    ? `${DOVECOT_IMAP} not found (apt-get install dovecot-imapd)`
    : process.getuid?.() !== 0
      ? 'not root (Dovecot is run as nobody on the Maildir)'
      : null;
if (missing && process.env.CI === 'true') throw new Error(`mbsync switch test needs: ${missing}`);
if (missing) console.warn(`[skipped] mbsync Dovecot → tsmail switch: ${missing}`);

const message = (id: string, subject: string) =>
  `From: Bob <bob@example.test>\nTo: alice@example.test\nSubject: ${subject}\nMessage-ID: <${id}@example.test>\nDate: Mon, 7 Dec 2026 10:00:00 +0000\n\n${subject} body\n`;

/** Files under new/ and cur/ of every folder below `root`, relative, sorted. */
async function messageFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (/^(new|cur)$/.test(path.basename(d))) out.push(path.relative(root, p));
    }
  };
  await walk(root);
  return out.sort();
}

/** The UID pairs and UIDVALIDITY lines of mbsync's sync state files. */
async function syncState(root: string): Promise<string> {
  const out: string[] = [];
  for (const folder of (await readdir(root)).sort()) {
    const text = await readFile(path.join(root, folder, '.mbsyncstate'), 'latin1').catch(() => '');
    out.push(`${folder}: ${text.split('\n').filter((l) => /^(FarUidValidity|NearUidValidity|\d+ \d+)/.test(l)).join(' | ')}`);
  }
  return out.join('\n');
}

describe.skipIf(missing !== null)('mbsync: account moved from Dovecot to tsmail', () => {
  let d: ImapDaemon;
  let dir: string;
  let cleanup: () => Promise<void>;
  let maildir: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    await chmod(dir, 0o755);
    maildir = path.join(dir, 'data', 'vmail', 'example.test', 'alice');
    for (const sub of ['new', 'cur', 'tmp', '.Archive/new', '.Archive/cur', '.Archive/tmp']) await mkdir(path.join(maildir, sub), { recursive: true });
    await writeFile(path.join(maildir, 'new', '1765000001.M1P1.old'), message('m1', 'one'));
    await writeFile(path.join(maildir, 'new', '1765000002.M2P1.old'), message('m2', 'two'));
    await writeFile(path.join(maildir, 'cur', '1765000003.M3P1.old:2,S'), message('m3', 'three'));
    await writeFile(path.join(maildir, '.Archive', 'cur', '1765000004.M4P1.old:2,FS'), message('a1', 'archived'));
    await writeFile(path.join(maildir, 'subscriptions'), 'Archive\n');
    // Dovecot (as nobody) writes its uidlist and indexes into the Maildir.
    expect(spawnSync('chown', ['-R', 'nobody:nogroup', path.join(dir, 'data')]).status).toBe(0);
    await chmod(path.join(dir, 'data'), 0o755);
    await mkdir(path.join(dir, 'near'));
    d = await startImapDaemon(dir);
  }, 30_000);
  afterAll(async () => {
    await d?.stop();
    await cleanup?.();
  });

  const near = () => path.join(dir, 'near');
  const config = (store: string[]) => [
    'IMAPStore far', ...store, '',
    'MaildirStore near', `Path ${near()}/`, `Inbox ${near()}/INBOX`, 'SubFolders Verbatim', '',
    'Channel c', 'Far :far:', 'Near :near:', 'Patterns *', 'Create Both', 'Expunge Both', 'SyncState *', '',
  ].join('\n');
  const sync = async (store: string[]) => {
    const conf = path.join(dir, 'mbsyncrc');
    await writeFile(conf, config(store));
    const r = spawnSync(MBSYNC, ['-c', conf, '-V', 'c'], { encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  };

  it('transfers nothing after the switch, and later changes still sync both ways', async () => {
    const dovecotConf = path.join(dir, 'dovecot.conf');
    await writeFile(dovecotConf, `mail_location = maildir:${maildir}\nlog_path = ${path.join(dir, 'dovecot.log')}\n`);
    const viaDovecot = [`Tunnel "setpriv --reuid=nobody --regid=nogroup --clear-groups env USER=nobody HOME=/tmp ${DOVECOT_IMAP} -c ${dovecotConf}"`];
    const viaTsmail = ['Host 127.0.0.1', `Port ${d.imapPort}`, 'User alice@example.test', 'Pass alice-pw', 'SSLType None', 'AuthMechs LOGIN'];

    const first = await sync(viaDovecot);
    expect(first.code, first.out).toBe(0);
    expect(first.out).not.toMatch(/error/i);
    // A flag changed through Dovecot, so a flag Dovecot wrote must survive the switch.
    for (const sub of ['new', 'cur']) {
      for (const f of await readdir(path.join(near(), 'INBOX', sub))) {
        if ((await readFile(path.join(near(), 'INBOX', sub, f), 'latin1')).includes('<m2@')) {
          await rename(path.join(near(), 'INBOX', sub, f), path.join(near(), 'INBOX', 'cur', `${f.replace(/:2,.*$/, '')}:2,F`));
        }
      }
    }
    const second = await sync(viaDovecot);
    expect(second.code, second.out).toBe(0);
    expect((await messageFiles(maildir)).some((f) => /:2,F$/.test(f))).toBe(true);
    const before = { server: await messageFiles(maildir), near: await messageFiles(near()), state: await syncState(near()) };
    expect(before.near.length).toBe(4);

    const switched = await sync(viaTsmail);
    expect(switched.code, switched.out).toBe(0);
    // Empty boxes tsmail creates by configuration (Sent, Trash ...) may appear; nothing else.
    expect(switched.out).not.toMatch(/error|UIDVALIDITY (of|changed)|changed UIDVALIDITY/i);
    // Nothing moved on either side and the UID pairs are those Dovecot gave.
    expect(await messageFiles(maildir)).toEqual(before.server);
    expect(await messageFiles(near())).toEqual(before.near);
    const known = new Set(before.state.split('\n').map((l) => l.split(':')[0]));
    const state = (await syncState(near())).split('\n').filter((l) => known.has(l.split(':')[0]));
    expect(state.join('\n')).toEqual(before.state);

    // And tsmail keeps syncing: a message saved near arrives on the server once.
    await writeFile(path.join(near(), 'Archive', 'new', '1765000100.near1.host'), message('a2', 'archived two'));
    const after = await sync(viaTsmail);
    expect(after.code, after.out).toBe(0);
    const archive = await messageFiles(path.join(maildir, '.Archive'));
    expect(archive.length).toBe(2);
    const again = await sync(viaTsmail);
    expect(again.code, again.out).toBe(0);
    expect(await messageFiles(path.join(maildir, '.Archive'))).toEqual(archive);
  });
});
