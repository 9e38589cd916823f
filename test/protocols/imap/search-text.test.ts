import { describe, expect, it } from 'vitest';
import { normalizeAddresses } from '../../../src/protocols/imap/search/address.js';
import { BodyDecoder } from '../../../src/protocols/imap/search/body-decode.js';
import { StreamFinder } from '../../../src/protocols/imap/search/finder.js';
import { searchFold } from '../../../src/protocols/imap/search/fold.js';
import { parseHeaderBlock } from '../../../src/protocols/imap/search/header-block.js';
import { compressLwsp, decodeHeaderValue } from '../../../src/protocols/imap/search/header-decode.js';
import { parseSentDate } from '../../../src/protocols/imap/search/sent-date.js';

const contains = (text: string, key: string) => searchFold(text).includes(searchFold(key));

describe('search folding (Dovecot i;unicode-casemap)', () => {
  it('ignores case, keeps accents as separate marks', () => {
    expect(contains('Café', 'CAFÉ')).toBe(true);
    expect(contains('Café', 'cafe')).toBe(true); // the accent follows the E
    expect(contains('Wörld', 'world')).toBe(false);
    expect(contains('STRASSE', 'straße')).toBe(false);
    expect(contains('Straße', 'STRAßE')).toBe(true);
    expect(contains('İstanbul', 'i̇stanbul')).toBe(true);
    expect(contains('ΣΊΣΥΦΟΣ', 'σίσυφος')).toBe(true);
    expect(contains('ﬁne', 'fine')).toBe(false);
  });
});

describe('StreamFinder', () => {
  it('finds a key split over any two pieces', () => {
    const text = 'the quick brown fox jumps over the lazy dog';
    for (let cut = 0; cut <= text.length; cut++) {
      const f = new StreamFinder(searchFold('FOX JUMPS'));
      f.feed(text.slice(0, cut));
      expect(f.feed(text.slice(cut)), `cut at ${cut}`).toBe(true);
    }
  });

  it('does not match across a reset (a new MIME part)', () => {
    const f = new StreamFinder(searchFold('ab'));
    f.feed('xa');
    f.resetContext();
    expect(f.feed('bx')).toBe(false);
  });
});

describe('BodyDecoder', () => {
  const decodeIn = (enc: string, charset: string | undefined, raw: Buffer, cut: number) => {
    const d = new BodyDecoder(enc, charset);
    return d.write(raw.subarray(0, cut)) + d.write(raw.subarray(cut)) + d.end();
  };

  it('gives the same text wherever a chunk ends (quoted-printable)', () => {
    const raw = Buffer.from('Ch=E8re coll=E8gue, soft =\nbreak, =3D sign, trailing   \nnext line=20\nend', 'latin1');
    const whole = decodeIn('quoted-printable', 'iso-8859-1', raw, raw.length);
    expect(whole).toBe('Chère collègue, soft break, = sign, trailing\nnext line \nend');
    for (let cut = 0; cut <= raw.length; cut++) expect(decodeIn('quoted-printable', 'iso-8859-1', raw, cut), `cut at ${cut}`).toBe(whole);
  });

  it('gives the same text wherever a chunk ends (base64, UTF-8, ISO-2022-JP)', () => {
    const text = 'Grüße, 日本語 and more text';
    const raw = Buffer.from(Buffer.from(text).toString('base64').replace(/.{7}/g, '$&\r\n'));
    for (let cut = 0; cut <= raw.length; cut++) expect(decodeIn('base64', 'utf-8', raw, cut)).toBe(text);
    const jis = Buffer.concat([Buffer.from([0x1b, 0x24, 0x42]), Buffer.from('F|K\\8l', 'latin1'), Buffer.from([0x1b, 0x28, 0x42]), Buffer.from(' ok')]);
    for (let cut = 0; cut <= jis.length; cut++) expect(decodeIn('7bit', 'ISO-2022-JP', jis, cut)).toBe('日本語 ok');
  });

  it('reads an unknown charset as UTF-8 and invalid bytes as U+FFFD', () => {
    expect(decodeIn('8bit', 'x-nonsense', Buffer.from('señor'), 3)).toBe('señor');
    expect(decodeIn('8bit', undefined, Buffer.from('caf\xe9', 'latin1'), 4)).toBe('caf\ufffd');
  });
});

describe('header fields', () => {
  it('unfolds as Dovecot (line break and one blank → a space), name and middle apart', () => {
    const f = parseHeaderBlock(Buffer.from('Subject: folded\r\n\t\tacross\r\n lines\r\nX-Empty:\r\nX-T:\ttab\r\nnot a header\r\n\r\nbody: no'));
    expect(f).toEqual([
      { name: 'Subject', middle: ': ', value: 'folded \tacross lines' },
      { name: 'X-Empty', middle: ':', value: '' },
      { name: 'X-T', middle: ':\t', value: 'tab' },
      { name: 'not a header', middle: '', value: '', bare: true },
    ]);
  });

  it('decodes encoded words one by one and drops blanks between them', () => {
    expect(decodeHeaderValue('=?ISO-8859-1?Q?R=E9sum=E9?= =?ISO-8859-1?Q?_d=E9j=E0_vu?= end')).toBe('Résumé déjà vu end');
    expect(decodeHeaderValue('a =?x-unknown?q?zz?= b')).toBe('a \ufffd b');
    expect(decodeHeaderValue('=?utf-8?b?w6k=?= plain')).toBe('é plain');
    expect(compressLwsp('  two \t  spaces\t')).toBe('two spaces ');
  });
});

describe('address normalisation (Dovecot message_address_write)', () => {
  it('rewrites names, comments, groups and broken addresses', () => {
    expect(normalizeAddresses('John Doe <john@example.com>')).toBe('"John Doe" <john@example.com>');
    expect(normalizeAddresses('plain@x.y (Comment), bare@x.y')).toBe('Comment <plain@x.y>, <bare@x.y>');
    expect(normalizeAddresses('"Quoted, Name" <q@x.y>')).toBe('"Quoted, Name" <q@x.y>');
    expect(normalizeAddresses('Group: a@b.c, "M" <m@b.c>;, after@x.y')).toBe('Group: <a@b.c>, M <m@b.c>;, <after@x.y>');
    expect(normalizeAddresses('undisclosed-recipients:;')).toBe('undisclosed-recipients:;');
    expect(normalizeAddresses('<@route.example:r@x.y>')).toBe('<@route.example:r@x.y>');
    expect(normalizeAddresses('broken <<x@y')).toBe('broken <MISSING_MAILBOX@SYNTAX_ERROR>');
    expect(normalizeAddresses('=?utf-8?q?J=C3=B6rg?= <j@x.y>')).toBe('=?utf-8?q?J=C3=B6rg?= <j@x.y>');
  });
});

describe('Date: header (Dovecot message_date_parse), as wall-clock time', () => {
  it('parses the usual and the obsolete forms', () => {
    expect(parseSentDate('Sun, 1 Mar 2026 23:30:00 -0800')).toBe(Date.UTC(2026, 2, 1, 23, 30, 0));
    expect(parseSentDate('2 Mar 2026 00:15 +0100')).toBe(Date.UTC(2026, 2, 2, 0, 15));
    expect(parseSentDate('10 Mar 26 23:59 EST')).toBe(Date.UTC(2026, 2, 10, 23, 59));
    expect(parseSentDate('10 Mar 99 01:02:03')).toBe(Date.UTC(1999, 2, 10, 1, 2, 3));
    expect(parseSentDate('Wed, 11 Mar 2026 (a comment) 04:00:00 +1400 (LINT)')).toBe(Date.UTC(2026, 2, 11, 4, 0, 0));
    expect(parseSentDate('sometime last week')).toBeNull();
    expect(parseSentDate('Monday, 1 Mar 2026 10:00:00 +0000')).toBeNull(); // a weekday must be three letters
  });
});

describe('SEARCH CHARSET conversion', () => {
  it('converts strings to UTF-8 and refuses what Dovecot refuses', async () => {
    const { searchCharsetSupported, searchKeyToUtf8 } = await import('../../../src/protocols/imap/search/charset.js');
    const { InvalidInput } = await import('../../../src/core/errors.js');
    expect(searchCharsetSupported('UTF-8')).toBe(true);
    expect(searchCharsetSupported('iso-8859-1')).toBe(true);
    expect(searchCharsetSupported('KOI8-R')).toBe(true);
    expect(searchCharsetSupported('bogus')).toBe(false);
    const k = searchKeyToUtf8({ kind: 'or', a: { kind: 'body', value: Buffer.from('caf\xe9', 'latin1') }, b: { kind: 'header', field: 'Subject', value: Buffer.from('na\xefve', 'latin1') } }, 'ISO-8859-1');
    expect(k).toEqual({ kind: 'or', a: { kind: 'body', value: Buffer.from('café') }, b: { kind: 'header', field: 'Subject', value: Buffer.from('naïve') } });
    expect(() => searchKeyToUtf8({ kind: 'body', value: Buffer.from('na\xff', 'latin1') }, 'UTF-8')).toThrow(InvalidInput);
    expect(() => searchKeyToUtf8({ kind: 'text', value: Buffer.from('na\xc3', 'latin1') }, 'US-ASCII')).toThrow(InvalidInput);
  });
});
