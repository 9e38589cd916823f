import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSubscriptions, serializeSubscriptions, setSubscribed } from '../../src/mailstore/maildir/subscriptions.js';
import { cleanup, doveadmAvailable, doveadmOk, giveToDovecot, makeDovecotHome, type DovecotHome } from './helpers/dovecot.js';

describe('subscriptions file', () => {
  const v2 = 'V\t2\n\nINBOX\nArchive\t2024\n&ANw-n&AO8-code &- Co\nSub\tDeep\tL&AOQ-st\n';
  const names = ['INBOX', 'Archive.2024', 'Ünïcode & Co', 'Sub.Deep.Läst'];

  it('reads and writes version 2', () => {
    expect(parseSubscriptions(v2)).toEqual({ version: 2, names, undecodable: [] });
    expect(serializeSubscriptions(names)).toBe(v2);
    expect(serializeSubscriptions(parseSubscriptions(Buffer.from(v2)).names, 2)).toBe(v2);
  });

  it('reads and writes version 1', () => {
    const v1 = 'INBOX\nArchive.2024\n&ANw-n&AO8-code &- Co\nSub.Deep.L&AOQ-st\n';
    expect(parseSubscriptions(v1)).toEqual({ version: 1, names, undecodable: [] });
    expect(serializeSubscriptions(names, 1)).toBe(v1);
    expect(parseSubscriptions('')).toEqual({ version: 1, names: [], undecodable: [] });
  });

  it('tab-escapes inside a level (strescape.c)', () => {
    const odd = 'a\tb\x01c\rd\ne';
    const text = serializeSubscriptions([odd, 'x.y']);
    expect(text).toBe('V\t2\n\na&AAk-b&AAE-c&AA0-d&AAo-e\nx\ty\n'); // mUTF-7 already hides these...
    const raw = serializeSubscriptions([odd], 2, { utf8: true }); // ...UTF-8 names on disk do not
    expect(raw).toBe('V\t2\n\na\x01tb\x011c\x01rd\x01ne\n');
    expect(parseSubscriptions(raw, { utf8: true }).names).toEqual([odd]);
    expect(() => serializeSubscriptions([odd], 1, { utf8: true })).toThrow(RangeError);
  });

  it('reads a last line without LF, skips blank lines and duplicates, spells INBOX upper case', () => {
    expect(parseSubscriptions('V\t2\n\ninbox\n\nA\nA\nB').names).toEqual(['INBOX', 'A', 'B']);
    expect(parseSubscriptions('INBOX\r\nX\r\n').names).toEqual(['INBOX', 'X']);
    expect(serializeSubscriptions(['Inbox', 'INBOX', 'a'])).toBe('V\t2\n\nINBOX\na\n');
  });

  it('shows names that are not modified UTF-7 as they are', () => {
    const r = parseSubscriptions('Entwürfe\nbad&name\nok\n');
    expect(r.names).toEqual(['Entwürfe', 'bad&name', 'ok']);
    expect(r.undecodable).toEqual(['Entwürfe', 'bad&name']);
  });

  it('refuses names that cannot be stored', () => {
    expect(() => serializeSubscriptions([''])).toThrow(RangeError);
    expect(() => serializeSubscriptions(['nul\0'])).toThrow();
  });

  it('subscribes at the end and unsubscribes in place', () => {
    expect(setSubscribed(['INBOX', 'A'], 'B', true)).toEqual(['INBOX', 'A', 'B']);
    expect(setSubscribed(['INBOX', 'A'], 'A', true)).toEqual(['INBOX', 'A']);
    expect(setSubscribed(['INBOX', 'A', 'B'], 'A', false)).toEqual(['INBOX', 'B']);
    expect(setSubscribed(['INBOX', 'A'], 'inbox', false)).toEqual(['A']);
  });
});

const dv = doveadmAvailable();

describe.skipIf(!dv.ok)('subscriptions against real Dovecot (doveadm)', () => {
  let h: DovecotHome;
  const file = (): string => path.join(h.mail, 'subscriptions');
  const listSubscribed = async (): Promise<string[]> => (await doveadmOk(h, ['mailbox', 'list', '-s'])).split('\n').filter((l) => l !== '');

  beforeAll(async () => {
    h = await makeDovecotHome();
  });
  afterAll(async () => {
    if (h) await cleanup(h);
  });

  it('reads the file Dovecot writes byte for byte', async () => {
    const folders = ['Ünïcode & Co', 'Archive.2024', 'Sub.Deep.Läst', 'A&B', '日本語', 'Tab.x'];
    for (const f of folders) await doveadmOk(h, ['mailbox', 'create', f]);
    await doveadmOk(h, ['mailbox', 'subscribe', 'INBOX', ...folders]);
    await doveadmOk(h, ['mailbox', 'unsubscribe', 'Tab.x']);
    const bytes = await readFile(file());
    const r = parseSubscriptions(bytes);
    expect(r.version).toBe(2);
    expect(r.undecodable).toEqual([]);
    expect(new Set(r.names)).toEqual(new Set(await listSubscribed()));
    expect(r.names).toEqual(['INBOX', ...folders.filter((f) => f !== 'Tab.x')]);
    expect(serializeSubscriptions(r.names, r.version)).toBe(bytes.toString('utf8'));
  });

  it('keeps a version 1 file at version 1, as Dovecot does', async () => {
    await writeFile(file(), serializeSubscriptions(['INBOX', 'Archive.2024'], 1));
    await giveToDovecot(h, file());
    await doveadmOk(h, ['mailbox', 'subscribe', 'Sub.Deep.Läst']);
    const bytes = await readFile(file());
    const r = parseSubscriptions(bytes);
    expect(r).toEqual({ version: 1, names: ['INBOX', 'Archive.2024', 'Sub.Deep.Läst'], undecodable: [] });
    expect(serializeSubscriptions(setSubscribed(['INBOX', 'Archive.2024'], 'Sub.Deep.Läst', true), 1)).toBe(bytes.toString('utf8'));
  });

  it('makes Dovecot list what tsmail wrote', async () => {
    const ours = ['日本語', 'INBOX', 'A&B', 'Sub.Deep.Läst'];
    await writeFile(file(), serializeSubscriptions(ours));
    await giveToDovecot(h, file());
    expect(new Set(await listSubscribed())).toEqual(new Set(ours));
    await doveadmOk(h, ['mailbox', 'unsubscribe', 'A&B']);
    expect((await readFile(file(), 'utf8'))).toBe(serializeSubscriptions(setSubscribed(ours, 'A&B', false)));
  });
});
