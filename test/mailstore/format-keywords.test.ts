import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFlags, parseMaildirName, withInfo } from '../../src/mailstore/maildir/filename.js';
import {
  addKeyword,
  emptyKeywordTable,
  findKeyword,
  isValidKeyword,
  keywordLetter,
  letterIndex,
  lostKeywordName,
  MAX_KEYWORDS,
  nextKeywordsMtime,
  parseKeywords,
  serializeKeywords,
  type KeywordTable,
} from '../../src/mailstore/maildir/keywords-file.js';
import { cleanup, doveadmAvailable, doveadmOk, giveToDovecot, makeDovecotHome, parseFetch, type DovecotHome } from './helpers/dovecot.js';

function table(entries: Record<number, string>): KeywordTable {
  const t = [...emptyKeywordTable()];
  for (const [i, name] of Object.entries(entries)) t[Number(i)] = name;
  return t;
}

describe('dovecot-keywords', () => {
  it('parses and serializes, gaps included', () => {
    const text = '0 Junk\n1 $Forwarded\n4 Work\n';
    const { table: t, skippedLines } = parseKeywords(text);
    expect(t).toEqual(table({ 0: 'Junk', 1: '$Forwarded', 4: 'Work' }));
    expect(t).toHaveLength(MAX_KEYWORDS);
    expect(skippedLines).toEqual([]);
    expect(serializeKeywords(t)).toBe(text);
    expect(serializeKeywords(emptyKeywordTable())).toBe('');
  });

  it('skips the lines Dovecot skips and ignores an unfinished last line', () => {
    const text = ['garbage', '', '26 TooFar', 'x1 Bad', '-1 Neg', '+2 Plus', '3 ', '2 Two', '2 TwoAgain', '05 Five', '7 with space', '9 Unfinished'].join('\n');
    const { table: t, skippedLines } = parseKeywords(Buffer.from(text));
    expect(t).toEqual(table({ 2: 'TwoAgain', 5: 'Five', 7: 'with space' }));
    expect(skippedLines).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(parseKeywords('1 Crlf\r\n').table[1]).toBe('Crlf');
  });

  it('maps indexes to letters', () => {
    expect(keywordLetter(0)).toBe('a');
    expect(keywordLetter(25)).toBe('z');
    expect(() => keywordLetter(26)).toThrow(RangeError);
    expect(letterIndex('c')).toBe(2);
    expect(letterIndex('C')).toBeUndefined();
    expect(letterIndex('ab')).toBeUndefined();
  });

  it('finds names case-insensitively and adds at the first free index', () => {
    let t = table({ 0: 'Junk', 2: 'Work' });
    expect(findKeyword(t, 'JUNK')).toBe(0);
    expect(addKeyword(t, 'junk')).toEqual({ table: t, index: 0, letter: 'a', added: false });
    const r = addKeyword(t, 'NonJunk')!;
    expect(r).toMatchObject({ index: 1, letter: 'b', added: true });
    expect(t[1]).toBeUndefined(); // pure: the input is unchanged
    t = r.table;
    for (let i = 3; i < MAX_KEYWORDS; i++) t = addKeyword(t, `k${i}`)!.table;
    expect(addKeyword(t, 'OneTooMany')).toBeUndefined();
    expect(addKeyword(t, 'k25')?.letter).toBe('z');
  });

  it('accepts IMAP atoms of up to 50 bytes only', () => {
    for (const ok of ['$Forwarded', 'Junk', 'a'.repeat(50), '$label1', 'x[y', "it's"]) expect(isValidKeyword(ok)).toBe(true);
    for (const bad of ['', 'a'.repeat(51), 'two words', '\\Seen', 'a(b', 'a)b', 'a{b', 'a"b', 'a]b', 'a%b', 'a*b', 'tab\t', 'ä', 'del\x7f']) {
      expect(isValidKeyword(bad)).toBe(false);
    }
    expect(() => addKeyword(emptyKeywordTable(), 'two words')).toThrow(RangeError);
  });

  it('names lost letters as Dovecot does', () => {
    expect(lostKeywordName(emptyKeywordTable(), 3)).toBe('unknown-3');
    expect(lostKeywordName(table({ 0: 'unknown-3', 1: 'UNKNOWN-3?' }), 3)).toBe('unknown-3??');
  });

  it('moves the mtime forward on every write', () => {
    expect(nextKeywordsMtime(undefined, 100)).toBe(100);
    expect(nextKeywordsMtime(99, 100)).toBe(100);
    expect(nextKeywordsMtime(100, 100)).toBe(101);
    expect(nextKeywordsMtime(105, 100)).toBe(106);
  });

  it('refuses names that cannot be stored', () => {
    expect(() => serializeKeywords(table({ 0: 'a\nb' }))).toThrow(RangeError);
    expect(() => serializeKeywords(table({ 0: '' }))).toThrow(RangeError);
  });
});

const dv = doveadmAvailable();

describe.skipIf(!dv.ok)('dovecot-keywords against real Dovecot (doveadm)', () => {
  let h: DovecotHome;
  beforeAll(async () => {
    h = await makeDovecotHome();
  });
  afterAll(async () => {
    if (h) await cleanup(h);
  });

  it('reads the file Dovecot writes byte for byte, up to the 26-letter limit', async () => {
    for (let i = 1; i <= 3; i++) await doveadmOk(h, ['save'], `Subject: ${i}\n\nbody\n`);
    await doveadmOk(h, ['flags', 'add', 'Junk $Forwarded NonJunk', 'mailbox', 'INBOX', 'uid', '1']);
    await doveadmOk(h, ['flags', 'add', '$Label1 Work junk', 'mailbox', 'INBOX', 'uid', '2']);
    const many = Array.from({ length: 24 }, (_, i) => `Extra${i}`);
    await doveadmOk(h, ['flags', 'add', many.join(' '), 'mailbox', 'INBOX', 'uid', '3']);

    const bytes = await readFile(path.join(h.mail, 'dovecot-keywords'));
    const { table: t, skippedLines } = parseKeywords(bytes);
    expect(skippedLines).toEqual([]);
    expect(serializeKeywords(t)).toBe(bytes.toString('utf8'));
    expect(t.slice(0, 5)).toEqual(['Junk', '$Forwarded', 'NonJunk', '$Label1', 'Work']);
    // 29 distinct keywords were set, only 26 fit in file names
    expect(t.every((n) => n !== undefined)).toBe(true);
    expect(addKeyword(t, 'Extra23')).toBeUndefined();

    const fetched = parseFetch(await doveadmOk(h, ['fetch', 'uid flags guid', 'mailbox', 'INBOX', 'all']));
    const names = new Map<string, string>();
    for (const dir of ['new', 'cur']) for (const n of await readdir(path.join(h.mail, dir))) names.set(parseMaildirName(n).base, n);
    for (const m of fetched) {
      const letters = parseFlags(parseMaildirName(names.get(String(m.guid))!).flags).keywords;
      const fromFile = [...letters].map((l) => t[letterIndex(l)!]);
      // every keyword with a letter is in Dovecot's answer; those beyond z exist only in its index
      expect(m.flags).toEqual(expect.arrayContaining(fromFile));
      expect(fromFile.length).toBe(m.uid === 3 ? 21 : m.flags.length);
    }
  });

  it('makes Dovecot show the keywords of a file tsmail wrote', async () => {
    await doveadmOk(h, ['mailbox', 'create', 'Kw']);
    const dir = path.join(h.mail, '.Kw');
    await writeFile(path.join(dir, 'dovecot-keywords'), serializeKeywords(table({ 1: 'Project-X', 7: '$MDNSent' })));
    await writeFile(path.join(dir, 'cur', withInfo('1700000000.M1P1.tsmail,S=14', 'Sbh')), 'Subject: k\n\nx\n');
    await giveToDovecot(h, dir);
    const [m] = parseFetch(await doveadmOk(h, ['fetch', 'uid flags', 'mailbox', 'Kw', 'all']));
    expect(new Set(m!.flags)).toEqual(new Set(['\\Seen', 'Project-X', '$MDNSent']));
  });
});
