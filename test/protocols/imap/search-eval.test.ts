import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInput } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/logger.js';
import { MaildirStore } from '../../../src/mailstore/maildir/store.js';
import type { Folder, Mailbox } from '../../../src/mailstore/types.js';
import { searchFolder } from '../../../src/protocols/imap/search/evaluate.js';
import { highestModseq, searchUsesModseq } from '../../../src/protocols/imap/search/modseq.js';
import type { SearchKey, SequenceSet } from '../../../src/protocols/imap/types.js';
import { tempDir } from '../../helpers/tmp.js';

const msg = (n: number, extra = '') => Buffer.from(`From: a@example.test\r\nSubject: message ${n}\r\nDate: Mon, ${n} Mar 2026 10:00:00 +0000\r\n${extra}\r\nbody ${n}\r\n`);
const day = (s: string) => new Date(`${s}T00:00:00Z`);
const set = (...ranges: Array<[number | '*', number | '*']>): SequenceSet => ({ ranges: ranges.map(([from, to]) => ({ from, to })) });
const text = (s: string) => Buffer.from(s, 'utf8');

/** The folder with read() counted, to see which searches touch message files. */
function counting(folder: Folder): { folder: Folder; reads: () => number } {
  let n = 0;
  const proxy = new Proxy(folder, {
    get(target, prop, receiver) {
      if (prop === 'read') return (uid: number, range?: { start: number; end?: number }) => (n++, target.read(uid, range));
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { folder: proxy, reads: () => n };
}

describe('SEARCH evaluation on a Maildir folder', () => {
  let cleanup: () => Promise<void>;
  let root: string;
  let box: Mailbox;
  let inbox: Folder;

  beforeEach(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    const store = new MaildirStore({ log: silentLogger, hostname: 'test.host' });
    root = path.join(t.dir, 'alice');
    box = await store.openMailbox(root);
    // 1..6: flags, keywords, dates and sizes to tell them apart
    await box.append('INBOX', msg(1), { flags: ['\\Seen'], internalDate: new Date('2026-03-01T10:00:00Z') });
    await box.append('INBOX', msg(2), { flags: ['\\Seen', '\\Answered', 'Junk'], internalDate: new Date('2026-03-02T23:30:00Z') });
    await box.append('INBOX', msg(3, 'X-Pad: ' + 'x'.repeat(500) + '\r\n'), { flags: ['\\Flagged', '$Label1'], internalDate: new Date('2026-03-03T00:30:00Z') });
    await box.append('INBOX', msg(4), { flags: ['\\Deleted', '\\Draft'], internalDate: new Date('2026-03-04T12:00:00Z') });
    await box.append('INBOX', msg(5), { flags: [], internalDate: new Date('2026-03-05T12:00:00Z') });
    await box.append('INBOX', msg(6), { flags: ['\\Seen', 'junk'], internalDate: new Date('2026-03-06T12:00:00Z') });
    inbox = await box.open('INBOX');
  });
  afterEach(async () => {
    await inbox.close();
    await box.close();
    await cleanup();
  });

  const search = (key: SearchKey, f: Folder = inbox, opts = { localOffset: () => 0 }) => searchFolder(f, key, opts);

  it('evaluates flag, keyword, size, date, set and MODSEQ keys from metadata without reading any file', async () => {
    const { folder, reads } = counting(inbox);
    const s = (key: SearchKey) => search(key, folder);
    expect(await s({ kind: 'all' })).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await s({ kind: 'flag', flag: '\\Seen', set: true })).toEqual([1, 2, 6]);
    expect(await s({ kind: 'flag', flag: '\\Seen', set: false })).toEqual([3, 4, 5]);
    expect(await s({ kind: 'flag', flag: '\\Answered', set: true })).toEqual([2]);
    expect(await s({ kind: 'flag', flag: '\\Deleted', set: true })).toEqual([4]);
    expect(await s({ kind: 'flag', flag: '\\Draft', set: false })).toEqual([1, 2, 3, 5, 6]);
    expect(await s({ kind: 'flag', flag: '\\Flagged', set: true })).toEqual([3]);
    // keywords compare case-insensitively (Dovecot); an unknown keyword matches nothing
    expect(await s({ kind: 'flag', flag: 'JUNK', set: true })).toEqual([2, 6]);
    expect(await s({ kind: 'flag', flag: '$label1', set: true })).toEqual([3]);
    expect(await s({ kind: 'flag', flag: 'nothing', set: true })).toEqual([]);
    expect(await s({ kind: 'flag', flag: 'nothing', set: false })).toEqual([1, 2, 3, 4, 5, 6]);
    const size3 = inbox.meta(inbox.uidAt(3))!.size;
    expect(await s({ kind: 'size', op: 'larger', size: size3 - 1 })).toEqual([3]);
    expect(await s({ kind: 'size', op: 'larger', size: size3 })).toEqual([]);
    expect(await s({ kind: 'size', op: 'smaller', size: size3 })).toEqual([1, 2, 4, 5, 6]);
    expect(await s({ kind: 'date', which: 'internal', op: 'on', date: day('2026-03-02') })).toEqual([2]);
    expect(await s({ kind: 'date', which: 'internal', op: 'before', date: day('2026-03-03') })).toEqual([1, 2]);
    expect(await s({ kind: 'date', which: 'internal', op: 'since', date: day('2026-03-03') })).toEqual([3, 4, 5, 6]);
    expect(await s({ kind: 'seq', set: set([2, 3], [6, '*']) })).toEqual([2, 3, 6]);
    expect(await s({ kind: 'seq', set: set([5, 100]) })).toEqual([5, 6]);
    expect(await s({ kind: 'uid', set: set([4, 4], [100, '*']) })).toEqual([4, 6]); // 100:* still names the last message
    const modseq = inbox.meta(inbox.uidAt(5))!.modseq;
    expect(await s({ kind: 'modseq', modseq })).toEqual(expect.arrayContaining([5]));
    expect(await s({ kind: 'modseq', modseq: modseq + 1000n })).toEqual([]);
    expect(await s({ kind: 'not', key: { kind: 'flag', flag: '\\Seen', set: true } })).toEqual([3, 4, 5]);
    expect(await s({ kind: 'or', a: { kind: 'flag', flag: '\\Flagged', set: true }, b: { kind: 'flag', flag: '\\Deleted', set: true } })).toEqual([3, 4]);
    expect(await s({ kind: 'and', keys: [{ kind: 'flag', flag: '\\Seen', set: true }, { kind: 'not', key: { kind: 'flag', flag: 'junk', set: true } }] })).toEqual([1]);
    // BODY "" / TEXT "" match everything without reading (RFC 3501: the empty string is in every text)
    expect(await s({ kind: 'body', value: Buffer.alloc(0) })).toEqual([1, 2, 3, 4, 5, 6]);
    expect(reads()).toBe(0);
  });

  it('tells whether MODSEQ was used and the highest MODSEQ found (RFC 7162 3.1.5)', async () => {
    const key: SearchKey = { kind: 'and', keys: [{ kind: 'flag', flag: '\\Seen', set: true }, { kind: 'not', key: { kind: 'modseq', modseq: 1n } }] };
    expect(searchUsesModseq(key)).toBe(true);
    expect(searchUsesModseq({ kind: 'or', a: { kind: 'all' }, b: { kind: 'flag', flag: '\\Seen', set: true } })).toBe(false);
    await inbox.setFlags([inbox.uidAt(5)], 'add', ['\\Flagged']);
    const top = inbox.meta(inbox.uidAt(5))!.modseq;
    expect(highestModseq(inbox, [1, 5, 6])).toBe(top);
    expect(highestModseq(inbox, [1])).toBe(inbox.meta(inbox.uidAt(1))!.modseq);
    expect(highestModseq(inbox, [])).toBe(0n);
  });

  it('finds nothing in an empty folder', async () => {
    await box.create('Empty');
    const empty = await box.open('Empty');
    expect(await search({ kind: 'all' }, empty)).toEqual([]);
    expect(await search({ kind: 'uid', set: set([1, '*']) }, empty)).toEqual([]);
    expect(await search({ kind: 'seq', set: set(['*', '*']) }, empty)).toEqual([]);
    await empty.close();
  });

  it('reads message files only when a content key is still undecided', async () => {
    const { folder, reads } = counting(inbox);
    // SEEN AND SUBJECT: only the three seen messages are opened
    expect(await search({ kind: 'and', keys: [{ kind: 'flag', flag: '\\Seen', set: true }, { kind: 'header', field: 'Subject', value: text('message'), key: 'SUBJECT' }] }, folder)).toEqual([1, 2, 6]);
    expect(reads()).toBe(3);
    // OR with a metadata key that is already true needs no file
    expect(await search({ kind: 'or', a: { kind: 'flag', flag: '\\Flagged', set: false }, b: { kind: 'body', value: text('body 3') } }, folder)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(reads()).toBe(4);
  });

  it('compares INTERNALDATE by calendar day in the server time zone', async () => {
    const on = (d: string, offsetMin: number) => search({ kind: 'date', which: 'internal', op: 'on', date: day(d) }, inbox, { localOffset: () => offsetMin });
    // message 2 is 2026-03-02 23:30 UTC and message 3 2026-03-03 00:30 UTC
    expect(await on('2026-03-02', 0)).toEqual([2]);
    expect(await on('2026-03-03', 60)).toEqual([2, 3]); // UTC+1: both on the 3rd
    expect(await on('2026-03-02', -60)).toEqual([2, 3]); // UTC-1: both on the 2nd
  });

  it('compares SENT* dates by the Date: header in its own zone, a missing one as 1970', async () => {
    await box.append('INBOX', Buffer.from('Subject: no date\r\n\r\nx\r\n'));
    await box.append('INBOX', Buffer.from('Subject: zone\r\nDate: Tue, 10 Mar 2026 23:30:00 -0800 (PST)\r\n\r\nx\r\n'));
    await inbox.sync();
    const sent = (op: 'before' | 'on' | 'since', d: string) => search({ kind: 'date', which: 'sent', op, date: day(d) });
    expect(await sent('on', '2026-03-03')).toEqual([3]);
    expect(await sent('on', '2026-03-10')).toEqual([8]); // 23:30 in the sender's zone, not 07:30 UTC on the 11th
    expect(await sent('before', '1971-01-01')).toEqual([7]);
    expect(await sent('since', '2026-03-06')).toEqual([6, 8]);
  });

  it('sees \\Recent and NEW/OLD as this session has them', async () => {
    // Mail delivered into new/ by an outside writer is \Recent for the session that sees it first.
    await writeFile(path.join(root, 'new', '1700000001.M1P1.outside'), 'Subject: delivered\n\nnew mail\n');
    await writeFile(path.join(root, 'new', '1700000002.M2P1.outside'), 'Subject: delivered too\n\nnew mail\n');
    await inbox.sync();
    expect(inbox.count()).toBe(8);
    await inbox.setFlags([inbox.uidAt(8)], 'add', ['\\Seen']);
    expect(await search({ kind: 'flag', flag: '\\Recent', set: true })).toEqual([7, 8]);
    expect(await search({ kind: 'new' })).toEqual([7]); // RECENT UNSEEN
    expect(await search({ kind: 'old' })).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await search({ kind: 'not', key: { kind: 'new' } })).toEqual([1, 2, 3, 4, 5, 6, 8]);
  });

  it('refuses a search string that is not UTF-8', async () => {
    await expect(search({ kind: 'body', value: Buffer.from([0x61, 0xff]) })).rejects.toBeInstanceOf(InvalidInput);
  });

  it('walks past a 30 MB attachment to the text part after it', async () => {
    const attachment = Buffer.alloc(30 * 1024 * 1024, 0x41).toString('base64').replace(/.{76}/g, '$&\r\n');
    const raw = `Subject: huge\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: application/octet-stream; name=big.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n${attachment}\r\n--zz\r\nContent-Type: text/plain\r\n\r\nthe needle after the attachment\r\n--zz--\r\n`;
    await box.append('INBOX', Buffer.from(raw));
    await inbox.sync();
    expect(await search({ kind: 'body', value: text('needle after') })).toEqual([7]);
    expect(await search({ kind: 'body', value: text('QUFB') })).toEqual([]); // an attachment's body is not text
    expect(await search({ kind: 'text', value: text('name=big.bin') })).toEqual([7]); // its header is
  }, 120_000);

  it('finds text in a large base64 part across chunk boundaries', async () => {
    const line = 'lorem ipsum dolor sit amet consectetur ';
    const bodyText = line.repeat(40_000) + 'NEEDLE-ÜBER-GRENZE ' + line.repeat(10) + 'tail end';
    const b64 = Buffer.from(bodyText, 'utf8').toString('base64').replace(/.{76}/g, '$&\r\n');
    await box.append('INBOX', Buffer.from(`Subject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--b--\r\n`));
    await inbox.sync();
    expect(await search({ kind: 'body', value: text('needle-über-grenze') })).toEqual([7]);
    expect(await search({ kind: 'text', value: text('consectetur TAIL end') })).toEqual([7]);
    expect(await search({ kind: 'body', value: text('tail end.') })).toEqual([]);
    expect(await search({ kind: 'text', value: text('subject: BIG') })).toEqual([7]);
    expect(await search({ kind: 'body', value: text('subject: big') })).toEqual([]);
    expect(await search({ kind: 'body', value: text('consectetur lorem') })).toEqual([7]);
  });
});
