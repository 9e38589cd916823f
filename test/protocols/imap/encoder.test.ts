import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeMutf7 } from '../../../src/core/mutf7.js';
import { astring, flagList, humanString, imapDate, literal, mailboxName, nstring, quoted, string } from '../../../src/protocols/imap/encoder.js';

import { dovecotImap, dovecotImapMissing } from '../../helpers/dovecot-imap.js';
import { tempDir } from '../../helpers/tmp.js';

const s = (b: Buffer) => b.toString('latin1');

describe('IMAP encoder', () => {
  it('quotes plain text and escapes quoted-specials', () => {
    expect(quoted('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(s(string('hello world'))).toBe('"hello world"');
    expect(s(string(''))).toBe('""');
    expect(s(string('a\tb\x01c'))).toBe('"a\tb\x01c"'); // other CTLs stay quoted, as Dovecot does
  });

  it('switches to a literal after four quoted-specials, or for CR, LF, NUL and 8-bit (Dovecot imap_append_nstring)', () => {
    expect(s(string('"a" \\b\\'))).toBe('"\\"a\\" \\\\b\\\\"');
    expect(s(string('"a" "b" c'))).toBe('"\\"a\\" \\"b\\" c"');
    expect(s(string('"a" "b" \\c'))).toBe('{10}\r\n"a" "b" \\c');
    expect(s(string('a\r\nb'))).toBe('{4}\r\na\r\nb');
    expect(s(string('a\0b'))).toBe('{3}\r\na\0b');
    expect(s(string('café'))).toBe('{5}\r\ncaf\xc3\xa9');
    expect(s(string(Buffer.from([0x61, 0xe9])))).toBe('{2}\r\na\xe9');
  });

  it('writes NIL for null and literals with their byte length', () => {
    expect(s(nstring(null))).toBe('NIL');
    expect(s(nstring(undefined))).toBe('NIL');
    expect(s(nstring('NIL'))).toBe('"NIL"');
    expect(s(literal('ü'))).toBe('{2}\r\n\xc3\xbc');
  });

  it('writes astrings as atoms when it can, never "" or NIL bare', () => {
    expect(s(astring('INBOX'))).toBe('INBOX');
    expect(s(astring('a]b'))).toBe('a]b');
    expect(s(astring('My Folder'))).toBe('"My Folder"');
    expect(s(astring('a%'))).toBe('"a%"');
    expect(s(astring('a*'))).toBe('"a*"');
    expect(s(astring('a(b'))).toBe('"a(b"');
    expect(s(astring('a{b'))).toBe('"a{b"');
    expect(s(astring(''))).toBe('""');
    expect(s(astring('nil'))).toBe('"nil"');
  });

  it('encodes mailbox names in modified UTF-7 unless UTF-8 is enabled', () => {
    expect(s(mailboxName('Entwürfe', false))).toBe('Entw&APw-rfe');
    expect(s(mailboxName('A & B', false))).toBe('"A &- B"');
    expect(mailboxName('Entwürfe', true).toString('utf8')).toBe('{9}\r\nEntwürfe');
  });

  it('writes flag lists', () => {
    expect(flagList([])).toBe('()');
    expect(flagList(['\\Seen', '$Label1'])).toBe('(\\Seen $Label1)');
  });

  it('writes INTERNALDATE with a zero-padded day in local time', () => {
    const d = new Date(2024, 0, 5, 3, 4, 5);
    const off = -d.getTimezoneOffset();
    const zone = `${off < 0 ? '-' : '+'}${String(Math.floor(Math.abs(off) / 60)).padStart(2, '0')}${String(Math.abs(off) % 60).padStart(2, '0')}`;
    expect(imapDate(d)).toBe(`"05-Jan-2024 03:04:05 ${zone}"`);
  });

  it('normalises strings for humans as Dovecot does', () => {
    expect(s(humanString('hi there'))).toBe('"hi there"');
    expect(s(humanString(''))).toBe('""');
    expect(s(humanString('   '))).toBe('""');
    expect(s(humanString('tab\there'))).toBe('{8}\r\ntab here');
    expect(s(humanString('  spaced  out  '))).toBe('{10}\r\nspaced out');
    expect(s(humanString('fold\r\n line'))).toBe('{9}\r\nfold line');
    expect(s(humanString('a\r\nb'))).toBe('{3}\r\na b');
    expect(s(humanString('bare\rCR'))).toBe('{7}\r\nbare CR');
    expect(s(humanString('a"b'))).toBe('{3}\r\na"b');
    expect(s(humanString('a\0b'))).toBe('{3}\r\na\x80b');
    expect(s(humanString('caf\xe9'))).toBe('{5}\r\ncaf\xc3\xa9');
    expect(s(humanString('ctl\x01x'))).toBe('"ctl\x01x"');
  });
});

describe.skipIf(dovecotImapMissing() !== undefined)('mailbox names as Dovecot writes them in LIST', () => {
  it('quotes, escapes and uses literals for the same names', async () => {
    const { dir, cleanup } = await tempDir('tsmail-encoder-list-');
    const maildir = path.join(dir, 'mail');
    await chmod(dir, 0o755);
    const onDisk = ['My Folder', 'Entw&APw-rfe', 'nil', 'a]b', 'quote"d', 'back\\slash', 'paren(x)', 'brace{1}', 'a"b"c"d"e\\f', 'caf&AOk- &- co'];
    for (const d of ['cur', 'new', 'tmp']) await mkdir(path.join(maildir, d), { recursive: true });
    for (const name of onDisk) for (const d of ['cur', 'new', 'tmp']) await mkdir(path.join(maildir, `.${name}`, d), { recursive: true });
    const dovecot = await dovecotImap(maildir);
    try {
      const out = (await dovecot.run(['a LIST "" "*"'])).toString('latin1');
      for (const name of onDisk) {
        const ours = `* LIST (\\HasNoChildren) "." ${mailboxName(decodeMutf7(name), false).toString('latin1')}\r\n`;
        expect(out).toContain(ours);
      }
    } finally {
      await dovecot.cleanup();
      await cleanup();
    }
  });
});
