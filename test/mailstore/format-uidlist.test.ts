import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maildirSizeFields, parseMaildirName } from '../../src/mailstore/maildir/filename.js';
import {
  effectiveNextUid,
  formatUidlistRecord,
  newMailboxGuid,
  parseUidlist,
  recordExt,
  serializeUidlist,
  withRecordExt,
  type Uidlist,
} from '../../src/mailstore/maildir/uidlist.js';
import { cleanup, doveadmAvailable, doveadmOk, giveToDovecot, makeDovecotHome, parseFetch, type DovecotHome } from './helpers/dovecot.js';

const GUID = '5a19fd38352a046b590d000083ecc375';

describe('dovecot-uidlist version 3', () => {
  const text = [`3 V1795435061 N13 G${GUID} Pfoo Xbar`, '1 :1795435061.M955541P3417.vm,S=28,W=32', '5 W999 P:uidl O7 :1700000001.M1P1.h', '13 :1700000000.12345_1.other host', ''].join('\n');

  it('parses header, ext fields and names, and writes the same bytes back', () => {
    const r = parseUidlist(text);
    expect(r.error).toBeUndefined();
    expect(r.warnings).toEqual([]);
    expect(r.rewrite).toBe(false);
    expect(r.uidlist).toEqual({
      version: 3,
      uidValidity: 1795435061,
      nextUid: 13,
      guid: GUID,
      headerExt: ['Pfoo', 'Xbar'],
      records: [
        { uid: 1, ext: [], base: '1795435061.M955541P3417.vm,S=28,W=32' },
        { uid: 5, ext: ['W999', 'P:uidl', 'O7'], base: '1700000001.M1P1.h' },
        { uid: 13, ext: [], base: '1700000000.12345_1.other host' },
      ],
    });
    expect(serializeUidlist(r.uidlist!)).toBe(text);
    expect(serializeUidlist(parseUidlist(Buffer.from(text)).uidlist!)).toBe(text);
  });

  it('knows the next UID is past records appended after the header', () => {
    const u = parseUidlist(text).uidlist!;
    expect(u.nextUid).toBe(13); // as written: Dovecot does not rewrite the header on append
    expect(effectiveNextUid(u)).toBe(14);
    expect(effectiveNextUid({ ...u, nextUid: 40 })).toBe(40);
    expect(effectiveNextUid({ ...u, records: [] })).toBe(13);
  });

  it('ignores an unfinished last line (an append in progress)', () => {
    const r = parseUidlist(`${text}14 :1700000002.M`);
    expect(r.uidlist!.records.map((x) => x.uid)).toEqual([1, 5, 13]);
  });

  it('writes Dovecot header order, lowercase GUID and base names', () => {
    const r = parseUidlist(`3 Xa N7 G${GUID.toUpperCase()} V9\n2 :name:2,FS\n`);
    expect(r.uidlist).toMatchObject({ uidValidity: 9, nextUid: 7, guid: GUID, headerExt: ['Xa'] });
    expect(serializeUidlist(r.uidlist!)).toBe(`3 V9 N7 G${GUID} Xa\n2 :name\n`);
  });

  it('asks for a rewrite when there is no GUID', () => {
    const r = parseUidlist('3 V1 N2\n1 :a\n');
    expect(r.rewrite).toBe(true);
    expect(r.uidlist!.guid).toBeUndefined();
    expect(() => serializeUidlist(r.uidlist!)).toThrow(RangeError);
    expect(serializeUidlist({ ...r.uidlist!, guid: newMailboxGuid() })).toMatch(/^3 V1 N2 G[0-9a-f]{32}\n1 :a\n$/);
  });

  it.each([
    ['', undefined],
    ['x V1 N1\n', 'Corrupted header (invalid version number)'],
    ['3V1 N1\n', 'Corrupted header (invalid version number)'],
    ['2 V1 N1\n', 'Unsupported version 2'],
    ['3 V0 N1\n', 'Broken header (uidvalidity = 0, next_uid=1)'],
    ['3 V1\n', 'Broken header (uidvalidity = 1, next_uid=0)'],
    ['3 Vx N1\n', 'Invalid mailbox UID_VALIDITY: x'],
    ['3 V1 N4294967296\n', 'Invalid mailbox NEXT_UID: 4294967296'],
    ['3 V1 N1 Gxyz\n', 'Invalid mailbox GUID: xyz'],
  ])('rejects the header of %j', (input, message) => {
    const r = parseUidlist(input);
    expect(r.uidlist).toBeUndefined();
    expect(r.error?.message).toBe(message);
    if (message) expect(r.error?.line).toBe(1);
  });

  it.each([
    ['\n', 'Invalid data: '],
    ['x :a\n', 'Invalid data: x :a'],
    ['0 :a\n', 'Invalid data:  :a'],
    ['5:a\n', 'Invalid data: :a'],
    ['2 :a\n2 :b\n', 'UIDs not ordered (2 >= 2)'],
    ['3 :a\n2 :b\n', 'UIDs not ordered (2 >= 3)'],
    ['4294967295 :a\n', 'UID too high (4294967295)'],
    ['1 :\n', 'Invalid extended fields: '],
    ['1 W5\n', 'Invalid extended fields: '],
    ['1 :a/b\n', 'Broken filename: a/b'],
  ])('treats record %j as a broken file', (records, message) => {
    const r = parseUidlist(`3 V1 N1 G${GUID}\n${records}`);
    expect(r.uidlist).toBeUndefined();
    expect(r.error?.message).toBe(message);
  });

  it('drops bad ext fields and duplicate names with a warning', () => {
    const r = parseUidlist(`3 V1 N1 G${GUID}\n1 w5 W6 :a\n2 :b\n3 :a:2,S\n`);
    expect(r.uidlist!.records).toEqual([
      { uid: 1, ext: ['W6'], base: 'a' },
      { uid: 2, ext: [], base: 'b' },
    ].slice(1).concat([{ uid: 3, ext: [], base: 'a' }]));
    expect(r.warnings.map((w) => [w.line, w.message])).toEqual([
      [2, 'Invalid extension record, removing: w5'],
      [4, 'Duplicate file entry: a:2,S (uid 1 -> 3)'],
    ]);
    expect(r.rewrite).toBe(true);
  });

  it('formats records and edits ext fields', () => {
    const rec = { uid: 7, ext: ['W10'], base: 'n,S=8' };
    expect(formatUidlistRecord(rec)).toBe('7 W10 :n,S=8\n');
    expect(recordExt(rec, 'W')).toBe('10');
    expect(recordExt(rec, 'S')).toBeUndefined();
    expect(withRecordExt(rec, 'W', '11').ext).toEqual(['W11']);
    expect(withRecordExt(rec, 'G', 'abc').ext).toEqual(['W10', 'Gabc']);
    expect(withRecordExt(rec, 'W', undefined).ext).toEqual([]);
    expect(() => formatUidlistRecord({ uid: 1, ext: ['bad'], base: 'x' })).toThrow(RangeError);
    expect(() => formatUidlistRecord({ uid: 1, ext: [], base: 'a/b' })).toThrow(RangeError);
    const u: Uidlist = { version: 3, uidValidity: 1, nextUid: 5, guid: GUID, headerExt: [], records: [rec, { ...rec, uid: 3 }] };
    expect(() => serializeUidlist(u)).toThrow(RangeError);
  });
});

describe('dovecot-uidlist version 1', () => {
  it('reads the old format', () => {
    const r = parseUidlist('1 1100000000 9\n3 1100000000.123_4.host:2,S\n8 1100000001.5_6.host\n');
    expect(r.error).toBeUndefined();
    expect(r.rewrite).toBe(true);
    expect(r.uidlist).toEqual({
      version: 1,
      uidValidity: 1100000000,
      nextUid: 9,
      headerExt: [],
      records: [
        { uid: 3, ext: [], base: '1100000000.123_4.host' },
        { uid: 8, ext: [], base: '1100000001.5_6.host' },
      ],
    });
  });

  it('rejects what Dovecot rejects', () => {
    expect(parseUidlist('1 5\n').error?.message).toBe('Corrupted header (version 1)');
    expect(parseUidlist('1 5 9\n9 a\n').error?.message).toBe('UID larger than next_uid (9 >= 9)');
  });
});

const dv = doveadmAvailable();

describe.skipIf(!dv.ok)('dovecot-uidlist against real Dovecot (doveadm)', () => {
  let h: DovecotHome;
  beforeAll(async () => {
    h = await makeDovecotHome();
  });
  afterAll(async () => {
    if (h) await cleanup(h);
  });

  async function basesOnDisk(mail: string): Promise<Set<string>> {
    const out = new Set<string>();
    for (const dir of ['new', 'cur']) for (const n of await readdir(path.join(mail, dir))) out.add(parseMaildirName(n).base);
    return out;
  }

  it('reads appended and rewritten files exactly, UIDs matching doveadm fetch', async () => {
    const file = path.join(h.mail, 'dovecot-uidlist');
    const check = async (): Promise<Uidlist> => {
      const bytes = await readFile(file);
      const r = parseUidlist(bytes);
      expect(r.error).toBeUndefined();
      expect(r.warnings).toEqual([]);
      expect(serializeUidlist(r.uidlist!)).toBe(bytes.toString('utf8'));
      const fetched = parseFetch(await doveadmOk(h, ['fetch', 'uid guid', 'mailbox', 'INBOX', 'all']));
      const onDisk = await basesOnDisk(h.mail);
      const live = r.uidlist!.records.filter((rec) => onDisk.has(rec.base));
      expect(live.map((rec) => [rec.uid, rec.base])).toEqual(fetched.map((m) => [m.uid, m.guid]));
      const status = await doveadmOk(h, ['mailbox', 'status', 'uidnext uidvalidity', 'INBOX']);
      expect(status.trim()).toBe(`INBOX uidnext=${effectiveNextUid(r.uidlist!)} uidvalidity=${r.uidlist!.uidValidity}`);
      return r.uidlist!;
    };

    // the first save into a new folder appends its record below a header still saying N1
    await doveadmOk(h, ['save'], 'Subject: 1\n\ny\n');
    const appended = await check();
    expect(appended.nextUid).toBe(1);
    expect(appended.records.map((rec) => rec.uid)).toEqual([1]);
    expect(effectiveNextUid(appended)).toBe(2);

    for (let i = 2; i <= 12; i++) await doveadmOk(h, ['save'], `Subject: ${i}\n\n${'y'.repeat(i)}\n`);
    expect((await check()).records.map((rec) => rec.uid)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    await doveadmOk(h, ['expunge', 'mailbox', 'INBOX', 'uid', '3']);
    expect((await check()).records.map((rec) => rec.uid)).toContain(3); // still listed, the file is gone

    // expunging most messages makes Dovecot rewrite (compress) the file
    for (const uid of [4, 5, 6, 7, 8, 9]) await doveadmOk(h, ['expunge', 'mailbox', 'INBOX', 'uid', String(uid)]);
    await doveadmOk(h, ['save'], 'Subject: 13\n\nz\n');
    await doveadmOk(h, ['force-resync', 'INBOX']);
    const rewritten = await check();
    expect(rewritten.records.length).toBeLessThan(12); // compressed; check() matched the live ones to doveadm
    expect(rewritten.records.map((rec) => rec.uid)).toEqual(expect.arrayContaining([1, 2, 10, 11, 12, 13]));
    expect(effectiveNextUid(rewritten)).toBe(14);
  });

  it('keeps the UIDs, UIDVALIDITY and next UID that tsmail wrote', async () => {
    await doveadmOk(h, ['mailbox', 'create', 'Ours']);
    const dir = path.join(h.mail, '.Ours');
    const records = [10, 20, 30].map((uid) => {
      const body = `Subject: ${uid}\n\nbody\n`;
      return { uid, body, base: `1700000000.M${uid}P1.tsmail${maildirSizeFields(body.length, body.length + 3)}` };
    });
    for (const r of records) await writeFile(path.join(dir, 'cur', `${r.base}:2,S`), r.body);
    const ours: Uidlist = { version: 3, uidValidity: 12345, nextUid: 100, guid: GUID, headerExt: [], records: records.map((r) => ({ uid: r.uid, ext: r.uid === 20 ? ['P', 'O1'] : [], base: r.base })) };
    await writeFile(path.join(dir, 'dovecot-uidlist'), serializeUidlist(ours));
    await giveToDovecot(h, dir);

    const fetched = parseFetch(await doveadmOk(h, ['fetch', 'uid flags guid', 'mailbox', 'Ours', 'all']));
    expect(fetched.map((m) => [m.uid, m.guid, m.flags])).toEqual(records.map((r) => [r.uid, r.base, ['\\Seen']]));
    expect((await doveadmOk(h, ['mailbox', 'status', 'uidnext uidvalidity guid', 'Ours'])).trim()).toBe(`Ours uidnext=100 uidvalidity=12345 guid=${GUID}`);

    await doveadmOk(h, ['save', '-m', 'Ours'], 'Subject: from dovecot\n\nx\n');
    const after = parseUidlist(await readFile(path.join(dir, 'dovecot-uidlist'))).uidlist!;
    expect(after.records.map((r) => r.uid)).toEqual([10, 20, 30, 100]);
    expect(after.records[1]!.ext).toEqual(['P', 'O1']);
    expect(after.uidValidity).toBe(12345);
  });

  it('reads a version 1 file with the UIDs Dovecot gives it', async () => {
    await doveadmOk(h, ['mailbox', 'create', 'Old']);
    const dir = path.join(h.mail, '.Old');
    const names = ['1100000000.123_4.oldhost', '1100000001.5_6.oldhost'];
    for (const n of names) await writeFile(path.join(dir, 'cur', `${n}:2,S`), 'Subject: old\n\nx\n');
    const v1 = `1 1100000000 9\n3 ${names[0]}:2,S\n8 ${names[1]}\n`;
    await writeFile(path.join(dir, 'dovecot-uidlist'), v1);
    await mkdir(path.join(dir, 'tmp'), { recursive: true });
    await giveToDovecot(h, dir);
    const ours = parseUidlist(v1).uidlist!;
    const fetched = parseFetch(await doveadmOk(h, ['fetch', 'uid guid', 'mailbox', 'Old', 'all']));
    expect(fetched.map((m) => [m.uid, m.guid])).toEqual(ours.records.map((r) => [r.uid, r.base]));
    expect((await doveadmOk(h, ['mailbox', 'status', 'uidnext uidvalidity', 'Old'])).trim()).toBe('Old uidnext=9 uidvalidity=1100000000');
    // Dovecot upgrades it to version 3, keeping the UIDs
    const upgraded = parseUidlist(await readFile(path.join(dir, 'dovecot-uidlist'))).uidlist!;
    expect(upgraded.version).toBe(3);
    expect(upgraded.records.map((r) => [r.uid, r.base])).toEqual(ours.records.map((r) => [r.uid, r.base]));
  });
});
