/**
 * Folder.keywordsInUse() and firstUnseen() (SELECT's FLAGS and [UNSEEN], from the columns) give
 * what meta() per message gives, also while another session's changes are not yet in the view.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { MaildirStore } from '../../src/mailstore/maildir/store.js';
import type { Folder } from '../../src/mailstore/types.js';
import { tempDir } from '../helpers/tmp.js';

const MSG = (n: number) => Buffer.from(`Subject: ${n}\r\n\r\nbody\r\n`);

function slow(f: Folder): { keywords: string[]; firstUnseen: number } {
  const keywords = new Set<string>();
  let firstUnseen = 0;
  for (let seq = 1; seq <= f.count(); seq++) {
    const m = f.meta(f.uidAt(seq));
    if (!m) continue;
    for (const k of m.flags) if (!k.startsWith('\\')) keywords.add(k);
    if (!firstUnseen && !m.flags.includes('\\Seen')) firstUnseen = seq;
  }
  return { keywords: [...keywords].sort(), firstUnseen };
}

const fast = (f: Folder) => ({ keywords: [...f.keywordsInUse!()].sort(), firstUnseen: f.firstUnseen!() });

describe('keywordsInUse / firstUnseen from the columns', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it('agree with meta() per message, before and after changes by another session', async () => {
    const store = new MaildirStore({ log: silentLogger, specialUse: [] });
    const box = await store.openMailbox(path.join(dir, 'u'));
    for (let i = 1; i <= 6; i++) await box.append('INBOX', MSG(i), { flags: i <= 2 ? ['\\Seen'] : i === 4 ? ['$Work', 'Later'] : [] });
    const a = await box.open('INBOX');
    const b = await box.open('INBOX');
    expect(fast(a)).toEqual({ keywords: ['$Work', 'Later'], firstUnseen: 3 });
    expect(fast(a)).toEqual(slow(a));
    // Another session changes flags and expunges: a's view is behind the table until it syncs.
    await b.setFlags([b.uidAt(3)], 'add', ['\\Seen', 'Urgent']);
    await b.setFlags([b.uidAt(1)], 'add', ['\\Deleted']);
    await b.expunge();
    await box.append('INBOX', MSG(7), { flags: ['Late'] });
    expect(fast(a)).toEqual(slow(a));
    await a.sync();
    expect(fast(a)).toEqual(slow(a));
    expect(fast(a)).toEqual({ keywords: ['$Work', 'Late', 'Later', 'Urgent'], firstUnseen: 3 });
    await b.sync();
    await b.setFlags([...Array(b.count()).keys()].map((i) => b.uidAt(i + 1)), 'add', ['\\Seen']);
    await a.sync();
    expect(fast(a).firstUnseen).toBe(0);
    expect(fast(a)).toEqual(slow(a));
    await a.close();
    await b.close();
    await box.close();
    await store.flush();
  });
});
