import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImapDaemon, type ImapDaemon } from '../../helpers/imap-daemon.js';
import { RawImap } from '../../helpers/imap-raw.js';
import { tempDir } from '../../helpers/tmp.js';

const msg = (n: number) => `Subject: m${n}\r\n\r\nbody ${n}\r\n`;

describe('IMAP sessions on one mailbox: pending updates, \\Recent, \\Seen, CONDSTORE', () => {
  let d: ImapDaemon;
  let cleanup: () => Promise<void>;
  let user = 0;

  beforeAll(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    d = await startImapDaemon(t.dir);
  }, 30_000);
  afterAll(async () => {
    await d?.stop();
    await cleanup?.();
  });

  /** A fresh folder with `n` messages; returns two sessions with it selected. */
  const twoSessions = async (n: number) => {
    const folder = `F${++user}`;
    const open = async () => {
      const { client } = await RawImap.connect(d.imapPort);
      expect((await client.command('l', 'LOGIN alice@example.test alice-pw')).at(-1)).toMatch(/^l OK/);
      return client;
    };
    const a = await open();
    expect(await a.command('c', `CREATE ${folder}`)).toEqual(['c OK Create completed.']);
    for (let i = 1; i <= n; i++) {
      const m = msg(i);
      const r = await a.command(`a${i}`, `APPEND ${folder} (\\Seen) {${m.length}+}\r\n${m}`);
      expect(r.at(-1)).toMatch(new RegExp(`^a${i} OK \\[APPENDUID \\d+ ${i}\\] Append completed\\.$`));
    }
    const b = await open();
    return { a, b, folder };
  };

  it('holds EXPUNGE back during FETCH, STORE and SEARCH and reports it at NOOP', async () => {
    const { a, b, folder } = await twoSessions(3);
    expect((await a.command('s', `SELECT ${folder}`)).at(-1)).toBe('s OK [READ-WRITE] Select completed.');
    expect((await b.command('s', `SELECT ${folder}`)).at(-1)).toBe('s OK [READ-WRITE] Select completed.');
    expect(await b.command('x', 'STORE 2 +FLAGS.SILENT (\\Deleted)')).toEqual(['x OK Store completed.']);
    expect(await b.command('y', 'EXPUNGE')).toEqual(['* 2 EXPUNGE', 'y OK Expunge completed.']);
    // a still sees 3 messages: sequence numbers stay while it fetches, stores, searches
    // (the expunged message's data is gone: it is left out rather than invented)
    expect(await a.command('f', 'FETCH 1:* (FLAGS)')).toEqual([
      '* 1 FETCH (FLAGS (\\Seen))', '* 3 FETCH (FLAGS (\\Seen))', 'f NO [EXPUNGEISSUED] Some of the requested messages no longer exist.',
    ]);
    expect(await a.command('g', 'SEARCH ALL')).toEqual(['* SEARCH 1 2 3', 'g OK Search completed.']);
    expect(await a.command('h', 'STORE 3 +FLAGS (\\Flagged)')).toEqual(['* 3 FETCH (FLAGS (\\Flagged \\Seen))', 'h OK Store completed.']);
    expect(await a.command('n', 'NOOP')).toEqual(['* 2 EXPUNGE', 'n OK NOOP completed.']);
    // b hears of a's flag change, with the UID
    expect(await b.command('n', 'NOOP')).toEqual(['* 2 FETCH (UID 3 FLAGS (\\Flagged \\Seen))', 'n OK NOOP completed.']);
    a.close();
    b.close();
  });

  it('gives \\Recent to exactly one session and reports new messages as EXISTS/RECENT', async () => {
    const open = async () => {
      const { client } = await RawImap.connect(d.imapPort);
      await client.command('l', 'LOGIN bob@example.test bob-pw');
      return client;
    };
    const a = await open();
    const b = await open();
    await a.command('s', 'SELECT INBOX');
    const lmtp = nodemailer.createTransport({ host: '127.0.0.1', port: d.ports.lmtp, lmtp: true, secure: false, ignoreTLS: true });
    await lmtp.sendMail({ envelope: { from: 'x@example.org', to: ['bob@example.test'] }, raw: msg(7) });
    // the delivery reached the open folder as an in-process event: the next command reports it
    expect(await a.command('n', 'NOOP')).toEqual(['* 1 EXISTS', '* 1 RECENT', 'n OK NOOP completed.']);
    const later = await b.command('s', 'SELECT INBOX');
    expect(later).toContain('* 1 EXISTS');
    expect(later).toContain('* 0 RECENT');
    expect(await a.command('f', 'FETCH 1 FLAGS')).toEqual(['* 1 FETCH (FLAGS (\\Recent))', 'f OK Fetch completed.']);
    expect(await b.command('f', 'FETCH 1 FLAGS')).toEqual(['* 1 FETCH (FLAGS ())', 'f OK Fetch completed.']);
    // IMAP4rev2 has no \\Recent (RFC 9051 appendix E): a rev2 session that is first to see a
    // message takes it (b, after it, does not get it) and does not show it
    await a.command('u', 'UNSELECT');
    await a.command('e', 'ENABLE IMAP4rev2');
    expect((await a.command('s', 'SELECT INBOX')).some((l) => / RECENT$/.test(l))).toBe(false);
    await lmtp.sendMail({ envelope: { from: 'x@example.org', to: ['bob@example.test'] }, raw: msg(8) });
    expect(await a.command('n', 'NOOP')).toEqual(['* 2 EXISTS', 'n OK NOOP completed.']);
    expect(await a.command('g', 'FETCH 2 FLAGS')).toEqual(['* 2 FETCH (FLAGS ())', 'g OK Fetch completed.']);
    await b.command('u', 'UNSELECT');
    expect(await b.command('s', 'SELECT INBOX')).toContain('* 0 RECENT');
    a.close();
    b.close();
  });

  it('sets \\Seen on BODY[] and answers with FLAGS; BODY.PEEK leaves it; EXAMINE never sets it', async () => {
    const { a, folder } = await twoSessions(0);
    const m = msg(1);
    await a.command('p', `APPEND ${folder} {${m.length}+}\r\n${m}`);
    await a.command('s', `SELECT ${folder}`);
    expect(await a.command('f', 'FETCH 1 (BODY.PEEK[HEADER])')).toEqual(['* 1 FETCH (BODY[HEADER] {15}', 'Subject: m1', '', ')', 'f OK Fetch completed.']);
    expect(await a.command('g', 'FETCH 1 (FLAGS)')).toEqual(['* 1 FETCH (FLAGS ())', 'g OK Fetch completed.']);
    expect(await a.command('h', 'FETCH 1 (BODY[TEXT])')).toEqual(['* 1 FETCH (FLAGS (\\Seen) BODY[TEXT] {8}', 'body 1', ')', 'h OK Fetch completed.']);
    expect(await a.command('i', 'FETCH 1 (FLAGS)')).toEqual(['* 1 FETCH (FLAGS (\\Seen))', 'i OK Fetch completed.']);
    await a.command('x', 'STORE 1 -FLAGS.SILENT (\\Seen)');
    await a.command('y', `EXAMINE ${folder}`);
    await a.command('z', 'FETCH 1 (BODY[TEXT])');
    expect(await a.command('j', 'FETCH 1 (FLAGS)')).toEqual(['* 1 FETCH (FLAGS ())', 'j OK Fetch completed.']);
    a.close();
  });

  it('STORE UNCHANGEDSINCE refuses changed messages with [MODIFIED]; FETCH CHANGEDSINCE', async () => {
    const { a, folder } = await twoSessions(2);
    const sel = await a.command('s', `SELECT ${folder} (CONDSTORE)`);
    const highest = BigInt(/HIGHESTMODSEQ (\d+)/.exec(sel.join('\n'))![1]!);
    const r = await a.command('f', 'FETCH 1:2 (MODSEQ)');
    const m1 = BigInt(/\* 1 FETCH \(MODSEQ \((\d+)\)\)/.exec(r[0]!)![1]!);
    expect(highest).toBeGreaterThanOrEqual(m1);
    await a.command('x', 'STORE 2 +FLAGS.SILENT (\\Answered)');
    const s = await a.command('u', `STORE 1:2 (UNCHANGEDSINCE ${m1}) +FLAGS (\\Flagged)`);
    expect(s.at(-1)).toBe('u OK [MODIFIED 2] Conditional STORE failed');
    expect(s.some((l) => l.startsWith('* 1 FETCH (FLAGS (\\Flagged \\Seen) MODSEQ ('))).toBe(true);
    const c = await a.command('c', `FETCH 1:* (FLAGS) (CHANGEDSINCE ${m1})`);
    expect(c.filter((l) => l.startsWith('*')).length).toBe(2);
    const top = BigInt(/MODSEQ \((\d+)\)/.exec(c.find((l) => l.startsWith('* 2 '))!)![1]!);
    const q = await a.command('q', `SEARCH MODSEQ ${m1 + 1n}`);
    expect(q[0]).toMatch(/^\* SEARCH 1 2 \(MODSEQ \d+\)$/);
    expect(BigInt(/MODSEQ (\d+)/.exec(q[0]!)![1]!)).toBeGreaterThanOrEqual(top);
    a.close();
  });

  it('refuses bad sequence numbers and commands in EXAMINE that would write', async () => {
    const { a, folder } = await twoSessions(1);
    await a.command('s', `EXAMINE ${folder}`);
    expect(await a.command('f', 'FETCH 5 (FLAGS)')).toEqual(['f BAD Invalid messageset']);
    // as Dovecot: OK, and nothing changes
    expect(await a.command('t', 'STORE 1 +FLAGS (\\Deleted)')).toEqual(['t OK Store ignored with read-only mailbox.']);
    expect(await a.command('e', 'EXPUNGE')).toEqual(['e OK Expunge completed.']);
    expect(await a.command('g', 'FETCH 1 (FLAGS)')).toEqual(['* 1 FETCH (FLAGS (\\Seen))', 'g OK Fetch completed.']);
    expect(await a.command('u', 'UID FETCH 99 (FLAGS)')).toEqual(['u OK Fetch completed.']);
    expect(await a.command('c', 'CLOSE')).toEqual(['c OK Close completed.']);
    expect(await a.command('d', 'CLOSE')).toEqual(['d BAD No mailbox selected.']);
    expect(await a.command('x', 'SELECT Nonexistent')).toEqual(['x NO [NONEXISTENT] Mailbox doesn\'t exist: Nonexistent']);
    a.close();
  });
});
