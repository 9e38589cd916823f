import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareMaildirNames,
  escapeHostname,
  formatFlags,
  IMAP_FLAG_LETTERS,
  LETTER_IMAP_FLAGS,
  maildirSizeFields,
  newUniqueName,
  parseFlags,
  parseMaildirName,
  setFlags,
  withInfo,
  type FlagLetter,
} from '../../src/mailstore/maildir/filename.js';
import { keywordLetter, letterIndex, parseKeywords, serializeKeywords, emptyKeywordTable } from '../../src/mailstore/maildir/keywords-file.js';
import { cleanup, doveadmAvailable, doveadmOk, giveToDovecot, makeDovecotHome, parseFetch, type DovecotHome } from './helpers/dovecot.js';

describe('parseMaildirName', () => {
  it('reads the name Dovecot writes', () => {
    expect(parseMaildirName('1700000000.M123456P4242.mail.example.org,S=1234,W=1260:2,FRSab')).toEqual({
      base: '1700000000.M123456P4242.mail.example.org,S=1234,W=1260',
      info: '2,FRSab',
      flags: 'FRSab',
      size: 1234,
      vsize: 1260,
    });
  });

  it('reads names without info (new/), without sizes, with fields in any order', () => {
    expect(parseMaildirName('1700000000.M1P2.host,S=28,W=32')).toEqual({ base: '1700000000.M1P2.host,S=28,W=32', flags: '', size: 28, vsize: 32 });
    expect(parseMaildirName('1700000000.12345_1.host')).toEqual({ base: '1700000000.12345_1.host', flags: '' });
    expect(parseMaildirName('1700000000.Vfd01I1234M5678.host:2,S')).toEqual({ base: '1700000000.Vfd01I1234M5678.host', info: '2,S', flags: 'S' });
    expect(parseMaildirName('1.M1P1.h,W=40,X=foo,S=38:2,')).toMatchObject({ size: 38, vsize: 40, flags: '', info: '2,' });
    expect(parseMaildirName('1.M1P1.h,S=10')).toEqual({ base: '1.M1P1.h,S=10', flags: '', size: 10 });
  });

  it('keeps escaped host names as they are', () => {
    const n = parseMaildirName('1700000000.M1P2.other\\072host\\057x,S=5:2,T');
    expect(n).toMatchObject({ base: '1700000000.M1P2.other\\072host\\057x,S=5', flags: 'T', size: 5 });
  });

  it('follows maildir_filename_get_size on odd sizes', () => {
    expect(parseMaildirName('1.M1P1.h,S=12x').size).toBeUndefined(); // digits must end at : , or the end
    expect(parseMaildirName('1.M1P1.h,S=,W=3').size).toBe(0); // Dovecot reads no digits as 0
    expect(parseMaildirName('1.M1P1.h,S=1,S=2').size).toBe(1); // the first one counts
  });

  it('takes the base up to the first colon and the info after the last one', () => {
    expect(parseMaildirName('a:b:2,FS')).toEqual({ base: 'a', info: '2,FS', flags: 'FS' });
    expect(parseMaildirName('a:1,xyz')).toEqual({ base: 'a', info: '1,xyz', flags: '' });
    expect(parseMaildirName('a:2,RS,other')).toMatchObject({ flags: 'RS', info: '2,RS,other' });
  });
});

describe('flags', () => {
  it('maps IMAP flags to letters and back, P having no IMAP flag', () => {
    expect(IMAP_FLAG_LETTERS).toEqual({ '\\Draft': 'D', '\\Flagged': 'F', '\\Answered': 'R', '\\Seen': 'S', '\\Deleted': 'T' });
    expect(LETTER_IMAP_FLAGS.S).toBe('\\Seen');
    expect(LETTER_IMAP_FLAGS.P).toBeUndefined();
  });

  it('splits flag characters', () => {
    const f = parseFlags('DFPRSTazb~');
    expect([...f.system].sort()).toEqual(['D', 'F', 'P', 'R', 'S', 'T']);
    expect(f.keywords).toBe('abz');
    expect(f.unknown).toBe('~');
  });

  it('formats in ASCII order, uppercase first, each once', () => {
    expect(formatFlags(new Set<FlagLetter>(['T', 'S', 'D', 'R', 'F', 'P']), 'zca')).toBe('DFPRSTacz');
    expect(formatFlags([], '')).toBe('');
    expect(formatFlags(['S', 'S'], 'bb')).toBe('Sb');
    expect(() => formatFlags(['X' as FlagLetter])).toThrow(RangeError);
    expect(() => formatFlags([], 'A')).toThrow(RangeError);
    expect(withInfo('base', 'FS')).toBe('base:2,FS');
  });

  it('changes flags as maildir_filename_flags_full_set does', () => {
    expect(setFlags('x', ['S'])).toBe('x:2,S');
    expect(setFlags('x:2,PS', ['F', 'S'])).toBe('x:2,FPS'); // P kept in place
    expect(setFlags('x:2,PS', [])).toBe('x:2,P'); // P cannot be removed
    expect(setFlags('x:2,DFRSTab', [], '')).toBe('x:2,');
    expect(setFlags('x:2,S~', ['T'], 'c')).toBe('x:2,Tc~'); // S dropped, ~ kept after the letters
    expect(setFlags('x:2,S,other', ['R'])).toBe('x:2,R,other'); // a second flag set is kept
    expect(setFlags('x:1,abc', ['S'])).toBe('x:2,S'); // a non-2 info is replaced
    expect(setFlags('x:2,S', ['P', 'S'])).toBe('x:2,PS');
  });
});

describe('unique names and sizes', () => {
  it('writes Dovecot form and stays unique within a process', () => {
    const t = 1_700_000_000_123;
    expect(newUniqueName({ now: t, pid: 42, hostname: 'mx.example.org', seq: 7 })).toBe('1700000000.M123007P42.mx.example.org');
    expect(newUniqueName({ now: new Date(t), pid: 42, hostname: 'h', seq: 1007 })).toBe('1700000000.M123007P42.h');
    const names = new Set<string>();
    for (let ms = 0; ms < 5; ms++) for (let seq = ms * 1000; seq < ms * 1000 + 1000; seq++) names.add(newUniqueName({ now: t + ms, pid: 1, hostname: 'h', seq }));
    expect(names.size).toBe(5000);
    expect(() => newUniqueName({ now: t, pid: 1, hostname: 'h', seq: -1 })).toThrow(RangeError);
  });

  it('escapes host characters that would break the name', () => {
    expect(escapeHostname('a/b:c,d\ne')).toBe('a\\057b\\072c\\054d\\012e');
    expect(parseMaildirName(newUniqueName({ now: 1000, pid: 1, hostname: 'x:2,S', seq: 0 }))).toEqual({ base: '1.M0P1.x\\0722\\054S', flags: '' });
  });

  it('writes S= then W=', () => {
    expect(maildirSizeFields(28, 32)).toBe(',S=28,W=32');
    expect(maildirSizeFields(28)).toBe(',S=28');
    expect(() => maildirSizeFields(-1)).toThrow(RangeError);
  });

  it('sorts new mail as maildir_filename_sort_cmp', () => {
    const names = ['1700000001.M5P1.h', '1700000000.M20P1.h', '1700000000.M3P9.h', '1700000000.12345_1.h', '999.M1P1.h'];
    expect([...names].sort(compareMaildirNames)).toEqual(['999.M1P1.h', '1700000000.12345_1.h', '1700000000.M3P9.h', '1700000000.M20P1.h', '1700000001.M5P1.h']);
  });
});

const dv = doveadmAvailable();

describe.skipIf(!dv.ok)('file names against real Dovecot (doveadm)', () => {
  let h: DovecotHome;
  const msg = (n: number) => `From: a@example.org\nSubject: message ${n}\n\nbody ${'x'.repeat(n)}\n`;

  beforeAll(async () => {
    h = await makeDovecotHome();
    for (let i = 1; i <= 6; i++) await doveadmOk(h, ['save'], msg(i));
  });
  afterAll(async () => {
    if (h) await cleanup(h);
  });

  async function files(): Promise<Map<string, { dir: string; name: string }>> {
    const byBase = new Map<string, { dir: string; name: string }>();
    for (const dir of ['new', 'cur']) {
      for (const name of await readdir(path.join(h.mail, dir))) byBase.set(parseMaildirName(name).base, { dir, name });
    }
    return byBase;
  }

  async function uidToBase(): Promise<Map<number, string>> {
    const text = await readFile(path.join(h.mail, 'dovecot-uidlist'), 'utf8');
    return new Map(text.split('\n').slice(1, -1).map((l) => [Number(l.split(' ')[0]), l.slice(l.indexOf(' :') + 2)] as [number, string]));
  }

  it('reads the names, flags, keywords and sizes Dovecot writes, and predicts its renames', async () => {
    const ops: [string, string, number][] = [
      ['add', '\\Seen \\Flagged', 1],
      ['add', 'Junk $Forwarded', 2],
      ['add', '\\Answered \\Draft \\Deleted $Label1 Work', 3],
      ['replace', 'Work \\Seen', 3],
      ['remove', '\\Seen', 1],
      ['add', '\\Seen Zeta', 4],
    ];
    for (const [op, flags, uid] of ops) {
      const before = (await files()).get((await uidToBase()).get(uid)!)!.name;
      await doveadmOk(h, ['flags', op, flags, 'mailbox', 'INBOX', 'uid', String(uid)]);
      const after = (await files()).get((await uidToBase()).get(uid)!)!.name;
      // what we would rename the file to for the flags Dovecot now has
      const p = parseFlags(parseMaildirName(after).flags);
      expect(setFlags(before, p.system, p.keywords)).toBe(after);
      expect(p.keywords).toBe(formatFlags([], p.keywords));
    }

    const keywords = parseKeywords(await readFile(path.join(h.mail, 'dovecot-keywords'))).table;
    const fetched = parseFetch(await doveadmOk(h, ['fetch', 'uid flags size.virtual size.physical', 'mailbox', 'INBOX', 'all']));
    const uids = await uidToBase();
    const onDisk = await files();
    expect(fetched).toHaveLength(6);
    for (const m of fetched) {
      const f = onDisk.get(uids.get(m.uid)!)!;
      const n = parseMaildirName(f.name);
      const p = parseFlags(n.flags);
      const ours = [
        ...[...p.system].map((l) => LETTER_IMAP_FLAGS[l]).filter((x) => x !== undefined),
        ...[...p.keywords].map((l) => keywords[letterIndex(l)!]),
      ];
      expect(new Set(ours)).toEqual(new Set(m.flags));
      expect(n.size).toBe((await stat(path.join(h.mail, f.dir, f.name))).size);
      expect(n.size).toBe(Number(m['size.physical']));
      expect(n.vsize).toBe(Number(m['size.virtual']));
    }
  });

  it('shows the flags and sizes of names tsmail writes', async () => {
    const table = [...emptyKeywordTable()];
    table[0] = 'Alpha';
    table[3] = 'Delta';
    const kw = path.join(h.mail, '.Ours', 'dovecot-keywords');
    await doveadmOk(h, ['mailbox', 'create', 'Ours']);
    await writeFile(kw, serializeKeywords(table));
    const body = 'Subject: ours\n\nhello\n';
    const cases: [FlagLetter[], string, string[]][] = [
      [['S'], '', ['\\Seen']],
      [['D', 'F', 'R', 'S', 'T'], 'ad', ['\\Draft', '\\Flagged', '\\Answered', '\\Seen', '\\Deleted', 'Alpha', 'Delta']],
      [['P'], 'd', ['Delta']],
      [[], '', []],
    ];
    let seq = 0;
    for (const [system, letters] of cases) {
      const base = newUniqueName({ now: Date.now(), pid: process.pid, hostname: 'tsmail:test', seq: seq++ }) + maildirSizeFields(body.length, body.length + 3);
      await writeFile(path.join(h.mail, '.Ours', 'cur', withInfo(base, formatFlags(system, letters))), body);
    }
    await giveToDovecot(h, path.join(h.mail, '.Ours'));
    const fetched = parseFetch(await doveadmOk(h, ['fetch', 'uid flags size.virtual guid', 'mailbox', 'Ours', 'all']));
    expect(fetched.map((m) => new Set(m.flags))).toEqual(expect.arrayContaining(cases.map(([, , flags]) => new Set(flags))));
    expect(fetched).toHaveLength(cases.length);
    for (const m of fetched) {
      expect(m['size.virtual']).toBe(String(body.length + 3));
      expect(String(m.guid)).toContain('tsmail\\072test,S=');
    }
    expect(keywordLetter(3)).toBe('d');
  });
});
