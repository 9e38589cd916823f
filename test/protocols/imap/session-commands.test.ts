import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImapDaemon, type ImapDaemon } from '../../helpers/imap-daemon.js';
import { RawImap } from '../../helpers/imap-raw.js';
import { tempDir } from '../../helpers/tmp.js';

const msg = (n: number) => `From: Bob <bob@example.test>\r\nSubject: m${n}\r\n\r\nbody ${n}\r\n`;

describe('IMAP commands, exact replies: ENABLE, ID, NAMESPACE, MOVE/COPY, UID EXPUNGE, ESEARCH', () => {
  let d: ImapDaemon;
  let cleanup: () => Promise<void>;
  let n = 0;

  beforeAll(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    d = await startImapDaemon(t.dir);
  }, 30_000);
  afterAll(async () => {
    await d?.stop();
    await cleanup?.();
  });

  const session = async (messages: number) => {
    const { client } = await RawImap.connect(d.imapPort);
    await client.command('l', 'LOGIN alice@example.test alice-pw');
    const folder = `C${++n}`;
    await client.command('c', `CREATE ${folder}`);
    for (let i = 1; i <= messages; i++) await client.command('a', `APPEND ${folder} {${msg(i).length}+}\r\n${msg(i)}`);
    return { c: client, folder };
  };

  it('ENABLE, ID, NAMESPACE', async () => {
    const { c } = await session(0);
    expect(await c.command('i', 'ID ("name" "test")')).toEqual(['* ID ("name" "tsmail")', 'i OK ID completed.']);
    expect(await c.command('n', 'NAMESPACE')).toEqual(['* NAMESPACE (("" ".")) NIL NIL', 'n OK Namespace completed.']);
    expect(await c.command('e', 'ENABLE CONDSTORE UTF8=ACCEPT X-UNKNOWN')).toEqual(['* ENABLED CONDSTORE', 'e OK Enabled.']);
    expect(await c.command('f', 'ENABLE CONDSTORE IMAP4rev2')).toEqual(['* ENABLED IMAP4rev2', 'f OK Enabled.']);
    c.close();
  });

  it('COPY and MOVE answer COPYUID; MOVE expunges with EXPUNGE responses; a missing target is TRYCREATE', async () => {
    const { c, folder } = await session(3);
    await c.command('t', 'CREATE Target' + n);
    const sel = await c.command('s', `SELECT ${folder}`);
    const validity = /UIDVALIDITY (\d+)/.exec(sel.join('\n'))![1];
    expect(validity).toBeDefined();
    const copy = await c.command('k', `COPY 1:2 Target${n}`);
    expect(copy).toEqual([expect.stringMatching(/^k OK \[COPYUID \d+ 1:2 1:2\] Copy completed\.$/)]);
    const move = await c.command('m', `UID MOVE 2:3 Target${n}`);
    expect(move).toEqual([expect.stringMatching(/^\* OK \[COPYUID \d+ 2:3 3:4\] Moved UIDs\.$/), '* 2 EXPUNGE', '* 2 EXPUNGE', 'm OK Move completed.']);
    expect(await c.command('x', 'COPY 1 Nowhere')).toEqual(['x NO [TRYCREATE] Mailbox doesn\'t exist: Nowhere']);
    expect(await c.command('y', 'UID COPY 99 Nowhere')).toEqual(['y OK No messages found.']);
    c.close();
  });

  it('UID EXPUNGE removes only the named \\Deleted messages; CLOSE expunges silently', async () => {
    const { c, folder } = await session(4);
    await c.command('s', `SELECT ${folder}`);
    await c.command('d', 'STORE 1:3 +FLAGS.SILENT (\\Deleted)');
    expect(await c.command('u', 'UID EXPUNGE 2:4')).toEqual(['* 2 EXPUNGE', '* 2 EXPUNGE', 'u OK Expunge completed.']);
    expect(await c.command('f', 'FETCH 1:* (UID)')).toEqual(['* 1 FETCH (UID 1)', '* 2 FETCH (UID 4)', 'f OK Fetch completed.']);
    expect(await c.command('c', 'CLOSE')).toEqual(['c OK Close completed.']);
    expect(await c.command('s', `STATUS ${folder} (MESSAGES)`)).toEqual([`* STATUS ${folder} (MESSAGES 1)`, 's OK Status completed.']);
    c.close();
  });

  it('SEARCH for IMAP4rev1, ESEARCH with RETURN and under IMAP4rev2; UID SEARCH', async () => {
    const { c, folder } = await session(3);
    await c.command('s', `SELECT ${folder}`);
    await c.command('f0', 'STORE 1 +FLAGS.SILENT (\\Seen)');
    await c.command('u0', 'UNSELECT');
    expect(await c.command('s', `SELECT ${folder}`)).toContain('* OK [UNSEEN 2] First unseen.');
    await c.command('f', 'STORE 2 +FLAGS.SILENT (\\Flagged)');
    expect(await c.command('a', 'SEARCH UNFLAGGED')).toEqual(['* SEARCH 1 3', 'a OK Search completed.']);
    expect(await c.command('b', 'UID SEARCH SUBJECT m2')).toEqual(['* SEARCH 2', 'b OK Search completed.']);
    expect(await c.command('c', 'SEARCH RETURN (MIN MAX COUNT) ALL')).toEqual(['* ESEARCH (TAG "c") MIN 1 MAX 3 COUNT 3', 'c OK Search completed.']);
    expect(await c.command('d', 'SEARCH BODY "body 3"')).toEqual(['* SEARCH 3', 'd OK Search completed.']);
    await c.command('u', 'UNSELECT');
    await c.command('e', 'ENABLE IMAP4rev2');
    await c.command('s', `SELECT ${folder}`);
    expect(await c.command('g', 'UID SEARCH ALL')).toEqual(['* ESEARCH (TAG "g") UID ALL 1:3', 'g OK Search completed.']);
    expect(await c.command('h', 'SEARCH KEYWORD nothing')).toEqual(['* ESEARCH (TAG "h")', 'h OK Search completed.']);
    c.close();
  });

  it('FETCH ENVELOPE, BODYSTRUCTURE and a partial body', async () => {
    const { c, folder } = await session(1);
    await c.command('s', `EXAMINE ${folder}`);
    const r = await c.command('f', 'FETCH 1 (ENVELOPE BODYSTRUCTURE BODY.PEEK[TEXT]<0.4>)');
    expect(r[0]).toMatch(/^\* 1 FETCH \(ENVELOPE \(NIL "m1" \(\("Bob" NIL "bob" "example\.test"\)\) .*BODYSTRUCTURE \("text" "plain" \("charset" "us-ascii"\) NIL NIL "7bit" 8 1 NIL NIL NIL NIL\) BODY\[TEXT\]<0> \{4\}$/);
    expect(r[1]).toBe('body)');
    c.close();
  });
});
