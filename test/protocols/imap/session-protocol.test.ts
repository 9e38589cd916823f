import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImapDaemon, type ImapDaemon } from '../../helpers/imap-daemon.js';
import { RawImap } from '../../helpers/imap-raw.js';
import { tempDir } from '../../helpers/tmp.js';

describe('IMAP protocol details: LIST, syntax errors, limits, IDLE, pipelining, timeouts', () => {
  let d: ImapDaemon;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    d = await startImapDaemon(t.dir, { imap: { preauth_timeout: 1 } });
  }, 30_000);
  afterAll(async () => {
    await d?.stop();
    await cleanup?.();
  });

  const login = async (user = 'alice') => {
    const { client } = await RawImap.connect(d.imapPort);
    expect((await client.command('l', `LOGIN ${user}@example.test ${user}-pw`)).at(-1)).toMatch(/^l OK/);
    return client;
  };

  it('lists with * and %, a reference, LSUB and LIST-EXTENDED options', async () => {
    const c = await login();
    for (const n of ['Work', 'Work.A', 'Work.A.Deep', 'Home']) expect((await c.command('c', `CREATE ${n}`)).at(-1)).toBe('c OK Create completed.');
    await c.command('s', 'SUBSCRIBE Work.A');
    expect(await c.command('a', 'LIST "" ""')).toEqual(['* LIST (\\Noselect) "." ""', 'a OK List completed.']);
    expect(await c.command('b', 'LIST "" Work.%')).toEqual(['* LIST (\\HasChildren) "." Work.A', 'b OK List completed.']);
    expect(await c.command('c', 'LIST Work. *')).toEqual([
      '* LIST (\\HasChildren) "." Work.A', '* LIST (\\HasNoChildren) "." Work.A.Deep', 'c OK List completed.',
    ]);
    expect(await c.command('d', 'LIST "" %')).toEqual(expect.arrayContaining(['* LIST (\\HasChildren) "." Work', '* LIST (\\HasNoChildren) "." Home']));
    expect((await c.command('d2', 'LIST "" %')).some((l) => l.includes('Work.A'))).toBe(false);
    expect(await c.command('e', 'LSUB "" Work.*')).toEqual(['* LSUB () "." Work.A', 'e OK Lsub completed.']);
    expect(await c.command('f', 'LIST (SUBSCRIBED) "" "Work*"')).toEqual(['* LIST (\\HasChildren \\Subscribed) "." Work.A', 'f OK List completed.']);
    expect(await c.command('g', 'LIST "" "inbox"')).toEqual(['* LIST (\\HasNoChildren) "." INBOX', 'g OK List completed.']);
    expect(await c.command('h', 'LIST (SPECIAL-USE) "" "*"')).toEqual(expect.arrayContaining(['* LIST (\\HasNoChildren \\Sent) "." Sent']));
    expect(await c.command('i', 'STATUS Work.A (MESSAGES UIDNEXT UNSEEN)')).toEqual(['* STATUS Work.A (MESSAGES 0 UIDNEXT 1 UNSEEN 0)', 'i OK Status completed.']);
    expect(await c.command('j', 'CREATE Work')).toEqual(['j NO [ALREADYEXISTS] Mailbox already exists']);
    expect(await c.command('k', 'CREATE INBOX')).toEqual(['k NO [ALREADYEXISTS] Mailbox already exists']);
    expect((await c.command('m', 'CREATE "a*b"')).at(-1)).toMatch(/^m (NO|BAD) /);
    expect((await c.command('o', 'CREATE "../evil"')).at(-1)).toMatch(/^o (NO|BAD) /);
    expect(await c.command('p', 'DELETE INBOX')).toEqual(['p NO [CANNOT] INBOX can\'t be deleted.']);
    expect(await c.command('q', 'DELETE Nothing')).toEqual(['q NO [NONEXISTENT] Mailbox doesn\'t exist: Nothing']);
    expect(await c.command('r', 'RENAME Nothing Other')).toEqual(['r NO [NONEXISTENT] Mailbox doesn\'t exist: Nothing']);
    expect(await c.command('t', 'RENAME Home Work')).toEqual(['t NO [ALREADYEXISTS] Mailbox already exists']);
    expect(await c.command('u', 'RENAME Work Work.A.B')).toEqual(['u NO [CANNOT] Can\'t rename mailbox under its own child']);
    c.close();
  });

  it('RENAME INBOX moves its messages into the new folder and leaves INBOX empty', async () => {
    const { client: c } = await RawImap.connect(d.imapPort);
    await c.command('l', 'LOGIN bob@example.test bob-pw');
    const m = 'Subject: r\r\n\r\nr\r\n';
    await c.command('a', `APPEND INBOX {${m.length}+}\r\n${m}`);
    expect(await c.command('r', 'RENAME INBOX Old')).toEqual(['r OK Rename completed.']);
    expect(await c.command('s', 'STATUS INBOX (MESSAGES)')).toEqual(['* STATUS INBOX (MESSAGES 0)', 's OK Status completed.']);
    expect(await c.command('t', 'STATUS Old (MESSAGES)')).toEqual(['* STATUS Old (MESSAGES 1)', 't OK Status completed.']);
    c.close();
  });

  it('answers syntax errors with BAD, a too-long line with BAD, and keeps the connection', async () => {
    const c = await login();
    expect((await c.command('a', 'FETCH')).at(-1)).toMatch(/^a BAD /);
    c.send('no-command-here\r\n');
    expect(await c.line()).toMatch(/^(\* |no-command-here )BAD /);
    c.send(`b NOOP ${'x'.repeat(100_000)}\r\n`);
    expect(await c.line()).toBe('b BAD Error in IMAP command NOOP: Too long argument');
    expect(await c.command('n', 'NOOP')).toEqual(['n OK NOOP completed.']);
    c.send('z LOGIN {100000}\r\n');
    expect(await c.line()).toMatch(/^z BAD /);
    expect(await c.command('n2', 'NOOP')).toEqual(['n2 OK NOOP completed.']);
    c.close();
  });

  it('disconnects a client after 20 invalid commands in a row, as Dovecot', async () => {
    const { client } = await RawImap.connect(d.imapPort);
    for (let i = 0; i < 19; i++) expect((await client.command(`b${i}`, 'FROB')).at(-1)).toMatch(new RegExp(`^b${i} BAD `));
    expect(await client.command('ok', 'NOOP')).toEqual(['ok OK NOOP completed.']);
    for (let i = 0; i < 19; i++) await client.command(`c${i}`, 'FROB');
    client.send('last FROB\r\n');
    expect(await client.line()).toMatch(/^last BAD /);
    expect(await client.line()).toBe('* BYE Too many invalid IMAP commands.');
    expect(await client.waitClosed(5000)).toBe(true);
  });

  it('answers pipelined commands in order, literals included', async () => {
    const c = await login();
    c.send('p1 CREATE Pipe\r\np2 SELECT {4+}\r\nPipe\r\np3 NOOP\r\np4 UNSELECT\r\np5 DELETE Pipe\r\n');
    const all = await c.until('p5');
    expect(all.filter((l) => /^p\d /.test(l))).toEqual([
      'p1 OK Create completed.', 'p2 OK [READ-WRITE] Select completed.', 'p3 OK NOOP completed.', 'p4 OK Unselect completed.', 'p5 OK Delete completed.',
    ]);
    c.close();
  });

  it('IDLE reports another session\'s EXPUNGE and new message at once, and ends with DONE', async () => {
    const a = await login('bob');
    const b = await login('bob');
    await a.command('c', 'CREATE Idle');
    for (const s of ['one', 'two']) await a.command('p', `APPEND Idle {${s.length * 2 + 15}+}\r\nSubject: ${s}\r\n\r\n${s}\r\n`);
    await a.command('s', 'SELECT Idle');
    await b.command('s', 'SELECT Idle');
    a.send('i IDLE\r\n');
    expect(await a.line()).toBe('+ idling');
    await b.command('x', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
    expect(await a.line()).toBe('* 1 FETCH (UID 1 FLAGS (\\Deleted))');
    await b.command('e', 'EXPUNGE');
    expect(await a.line()).toBe('* 1 EXPUNGE');
    await b.command('p', 'APPEND Idle {19+}\r\nSubject: xy\r\n\r\nxy\r\n');
    expect(await a.line()).toBe('* 2 EXISTS');
    a.send('DONE\r\n');
    const rest = await a.until('i');
    expect(rest.at(-1)).toBe('i OK Idle completed.');
    a.close();
    b.close();
  });

  it('IDLE reports a message an outside writer dropped into new/ (Postfix virtual, procmail, Dovecot)', async () => {
    const { client: a } = await RawImap.connect(d.imapPort);
    await a.command('l', 'LOGIN alice@example.test alice-pw');
    const sel = await a.command('s', 'SELECT INBOX');
    const exists = Number(/^\* (\d+) EXISTS$/m.exec(sel.join('\n'))![1]);
    a.send('i IDLE\r\n');
    expect(await a.line()).toBe('+ idling');
    const dir = path.join(d.dataDir, 'vmail/example.test/alice/new');
    await writeFile(path.join(dir, `${Math.floor(Date.now() / 1000)}.outside1.host`), 'Subject: outside\n\nhi\n');
    expect(await a.line()).toBe(`* ${exists + 1} EXISTS`);
    a.send('DONE\r\n');
    expect((await a.until('i')).at(-1)).toBe('i OK Idle completed.');
    a.close();
  });

  it('closes a connection that does not log in within the pre-login timeout', async () => {
    const { client } = await RawImap.connect(d.imapPort);
    expect(await client.waitClosed(15_000)).toBe(true);
    expect(client.all).toMatch(/\* BYE Disconnected for inactivity\.\r\n$/);
  });

  it('disconnects after three failed logins', async () => {
    const { client } = await RawImap.connect(d.imapPort);
    for (const t of ['a', 'b']) expect(await client.command(t, 'LOGIN alice@example.test wrong')).toEqual([`${t} NO [AUTHENTICATIONFAILED] Authentication failed.`]);
    expect(await client.command('c', 'LOGIN alice@example.test wrong')).toEqual(['c NO [AUTHENTICATIONFAILED] Authentication failed.']);
    expect(await client.waitClosed(5000)).toBe(true);
    expect(client.all).toMatch(/\* BYE .*\r\n$/);
  });
});
