/**
 * The columnar per-message state: file names derived from base + flags + new/cur, with the names
 * no derivation gives (other flag order, unknown characters, no info part) kept exactly.
 */
import { describe, expect, it } from 'vitest';
import { MessageTable, type MessageRecord } from '../../src/mailstore/maildir/message-table.js';

const rec = (uid: number, file: string, sub: 'new' | 'cur' = 'cur'): MessageRecord => ({
  uid, base: file.split(':')[0]!, sub, file, size: uid * 10, vsize: uid * 11, mtimeMs: uid * 1000, modseq: BigInt(uid),
});

describe('MessageTable', () => {
  it('keeps UID order whatever the insertion order, and finds UIDs', () => {
    const t = new MessageTable();
    for (const uid of [5, 1, 9, 3, 7]) t.insert(rec(uid, `b${uid}:2,S`));
    expect(Array.from(t.uids.subarray(0, t.length))).toEqual([1, 3, 5, 7, 9]);
    expect(t.bases.slice(0, t.length)).toEqual(['b1', 'b3', 'b5', 'b7', 'b9']);
    expect([t.indexOf(7), t.indexOf(4), t.indexOf(10), t.indexOf(0)]).toEqual([3, -1, -1, -1]);
    expect([t.sizes[3], t.vsizes[3], t.mtimes[3], t.modseqs[3]]).toEqual([70, 77, 7000, 7n]);
  });

  it.each([
    ['base:2,FS', 'cur', 'FS'],
    ['base:2,', 'cur', ''],
    ['base:2,Sab', 'cur', 'Sab'],
    ['base', 'new', ''], // no info part: as an MDA leaves it in new/
    ['base:2,S', 'new', 'S'], // Dovecot may leave flags on a file in new/
    ['base:2,SF', 'cur', 'SF'], // not Dovecot's order: the real name is kept
    ['base:2,FSX', 'cur', 'FSX'], // an unknown flag character
    ['base:2,S,extra', 'cur', 'S'], // a second info part
    ['base:1,foo', 'cur', ''], // not a `2,` info
  ] as const)('gives back %j (in %s) exactly, with flags %j', (file, sub, flags) => {
    const t = new MessageTable();
    t.insert(rec(1, file, sub));
    expect([t.file(0), t.sub(0), t.flags(0)]).toEqual([file, sub, flags]);
  });

  it('derives the name for Dovecot-style names instead of storing it', () => {
    const t = new MessageTable();
    t.insert(rec(1, 'a:2,DFPRSTaz'));
    t.insert(rec(2, 'b:2,SF'));
    expect(t.oddNames).toBe(1);
    t.setFile(1, 'cur', 'b:2,FS'); // renamed to the canonical form: no longer odd
    expect(t.oddNames).toBe(0);
    expect(t.file(0)).toBe('a:2,DFPRSTaz');
  });

  it('maps bits to IMAP flags, system flags first, keywords by letter', () => {
    const t = new MessageTable();
    t.insert(rec(1, 'a:2,DFPRSTbz'));
    const keywords = Array.from({ length: 26 }, (_, i) => (i === 1 ? '$Label2' : i === 25 ? 'Zed' : undefined));
    expect(t.imapFlags(0, keywords)).toEqual(['\\Answered', '\\Deleted', '\\Draft', '\\Flagged', '\\Seen', '$Label2', 'Zed']);
    expect(t.imapFlags(0, [])).toEqual(['\\Answered', '\\Deleted', '\\Draft', '\\Flagged', '\\Seen']); // unknown letters: no name
  });

  it('removes by predicate keeping order, including the odd names', () => {
    const t = new MessageTable();
    for (let uid = 1; uid <= 2000; uid++) t.insert(rec(uid, uid % 2 ? `m${uid}:2,S` : `m${uid}:2,SF`));
    expect(t.oddNames).toBe(1000);
    const removed = t.removeWhere((i) => t.uids[i]! % 10 !== 0);
    expect(removed).toHaveLength(1800);
    expect(t.length).toBe(200);
    expect(t.oddNames).toBe(200);
    expect(t.uids.length).toBeLessThan(2000); // memory given back
    expect([t.uids[0], t.file(0), t.uids[199], t.sizes[199]]).toEqual([10, 'm10:2,SF', 2000, 20000]);
    t.insert(rec(5, 'm5:2,'));
    expect([t.uids[0], t.uids[1], t.file(1)]).toEqual([5, 10, 'm10:2,SF']);
  });
});
