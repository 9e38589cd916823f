import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFound } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/logger.js';
import { MaildirStore } from '../../../src/mailstore/maildir/store.js';
import type { Folder, Mailbox } from '../../../src/mailstore/types.js';
import { cacheKey } from '../../../src/protocols/imap/fetch/message-view.js';
import { allSmall, renderFetch, renderSmall } from '../../../src/protocols/imap/fetch/respond.js';
import type { FetchItem } from '../../../src/protocols/imap/types.js';
import { readAll } from '../../helpers/child.js';
import { tempDir } from '../../helpers/tmp.js';

const MSG = 'From: a@example.com\r\nSubject: hi\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\nContent-Type: text/html\r\n\r\n<b>two</b>\r\n--b--\r\n';

describe('renderFetch', () => {
  let cleanup: () => Promise<void>;
  let box: Mailbox;
  let folder: Folder;
  let uid: number;

  beforeEach(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    box = await new MaildirStore({ log: silentLogger, hostname: 'test' }).openMailbox(path.join(t.dir, 'u'));
    ({ uid } = await box.append('INBOX', Buffer.from(MSG), { flags: ['$Label', '\\Seen', '\\Answered'], internalDate: new Date('2024-01-02T03:04:05Z') }));
    folder = await box.open('INBOX');
  });
  afterEach(async () => {
    await box.close();
    await cleanup();
  });

  const render = async (items: FetchItem[], includeModseq = false) => (await readAll(renderFetch(folder, 1, uid, items, { utf8: false, includeModseq }))).toString('latin1');

  it('renderSmall gives what renderFetch gives for items without a file or cache', async () => {
    const lists: FetchItem[][] = [
      [{ kind: 'UID' }, { kind: 'FLAGS' }],
      [{ kind: 'RFC822.SIZE' }, { kind: 'FLAGS' }, { kind: 'UID' }, { kind: 'INTERNALDATE' }, { kind: 'FLAGS' }],
      [{ kind: 'MODSEQ' }, { kind: 'UID' }],
    ];
    for (const items of lists) {
      expect(allSmall(items)).toBe(true);
      for (const includeModseq of [false, true]) {
        expect(renderSmall(folder, 1, uid, items, { utf8: false, includeModseq })!.toString('latin1')).toBe(await render(items, includeModseq));
      }
    }
    // ENVELOPE / BODYSTRUCTURE: null until cached, then the same bytes as renderFetch.
    const env: FetchItem[] = [{ kind: 'ENVELOPE' }, { kind: 'UID' }, { kind: 'BODYSTRUCTURE' }];
    expect(allSmall(env)).toBe(true);
    expect(renderSmall(folder, 1, uid, env, { utf8: false, includeModseq: false })).toBeNull();
    const full = await render(env);
    expect(renderSmall(folder, 1, uid, env, { utf8: false, includeModseq: false })!.toString('latin1')).toBe(full);
    expect(allSmall([{ kind: 'UID' }, { kind: 'BODY[]', section: { part: [], peek: true } }])).toBe(false);
    expect(renderSmall(folder, 1, uid + 1000, [{ kind: 'UID' }], { utf8: false, includeModseq: false })).toBeUndefined();
  });

  it('writes flags in Dovecot order with keywords last, and UID/RFC822.SIZE/MODSEQ', async () => {
    const out = await render([{ kind: 'RFC822.SIZE' }, { kind: 'FLAGS' }, { kind: 'UID' }], true);
    const modseq = folder.meta(uid)!.modseq;
    expect(out).toMatch(new RegExp(`^\\* 1 FETCH \\(RFC822\\.SIZE ${MSG.length} FLAGS \\(\\\\Answered \\\\Seen (\\\\Recent )?\\$Label\\) UID ${uid} MODSEQ \\(${modseq}\\)\\)\\r\\n$`));
  });

  it('puts an implicit MODSEQ where Dovecot does: after the small items asked, before an implicit FLAGS', async () => {
    const modseq = folder.meta(uid)!.modseq;
    const items: FetchItem[] = [{ kind: 'BODY[]', section: { part: [], specifier: 'HEADER.FIELDS', fields: ['x'], peek: true } }, { kind: 'RFC822.SIZE' }, { kind: 'FLAGS' }];
    const out = (await readAll(renderFetch(folder, 1, uid, items, { utf8: false, includeModseq: true, implicitFlags: true }))).toString('latin1');
    expect(out).toMatch(new RegExp(`^\\* 1 FETCH \\(RFC822\\.SIZE ${MSG.length} MODSEQ \\(${modseq}\\) FLAGS \\([^)]*\\) BODY\\[HEADER\\.FIELDS \\(X\\)\\] \\{2\\}\r\n\r\n\\)\r\n$`));
    const plain = (await readAll(renderFetch(folder, 1, uid, [{ kind: 'UID' }, { kind: 'FLAGS' }], { utf8: false, includeModseq: true }))).toString('latin1');
    expect(plain).toMatch(new RegExp(`^\\* 1 FETCH \\(UID ${uid} FLAGS \\([^)]*\\) MODSEQ \\(${modseq}\\)\\)\r\n$`));
  });

  it('streams sections by byte range and names them as Dovecot does', async () => {
    const out = await render([
      { kind: 'BODY[]', section: { part: [2], peek: true } },
      { kind: 'BODY[]', section: { part: [2], specifier: 'MIME', peek: true } },
      { kind: 'BODY[]', section: { part: [], peek: true, partial: { offset: 6, length: 13 } } },
      { kind: 'BODY[]', section: { part: [], specifier: 'HEADER.FIELDS', fields: ['subject'], peek: true } },
      { kind: 'RFC822.HEADER' },
    ]);
    const header = MSG.slice(0, MSG.indexOf('\r\n\r\n') + 4);
    expect(out).toBe(
      `* 1 FETCH (BODY[2] {10}\r\n<b>two</b> BODY[2.MIME] {27}\r\nContent-Type: text/html\r\n\r\n BODY[]<6> {13}\r\na@example.com BODY[HEADER.FIELDS (SUBJECT)] {15}\r\nSubject: hi\r\n\r\n RFC822.HEADER {${header.length}}\r\n${header})\r\n`,
    );
  });

  it('caches ENVELOPE, BODYSTRUCTURE and part offsets in the folder and uses the cache', async () => {
    const first = await render([{ kind: 'ENVELOPE' }, { kind: 'BODYSTRUCTURE' }, { kind: 'BODY[]', section: { part: [1], peek: true } }]);
    expect(folder.cacheGet(uid, cacheKey('envelope'))).toBe('(NIL "hi" ((NIL NIL "a" "example.com")) ((NIL NIL "a" "example.com")) ((NIL NIL "a" "example.com")) NIL NIL NIL NIL NIL)');
    expect(folder.cacheGet(uid, cacheKey('bodystructure'))).toMatch(/^\(\("text" "plain"/);
    expect(folder.cacheGet(uid, cacheKey('mimetree'))).toBeDefined();
    // Served from the cache: a planted value comes back as it is.
    folder.cacheSet(uid, cacheKey('envelope'), '(PLANTED)');
    const second = await render([{ kind: 'ENVELOPE' }, { kind: 'BODYSTRUCTURE' }, { kind: 'BODY[]', section: { part: [1], peek: true } }]);
    expect(second).toBe(first.replace(/ENVELOPE \(NIL .*?\) BODYSTRUCTURE/, 'ENVELOPE (PLANTED) BODYSTRUCTURE'));
  });

  it('answers a repeated small item once but every body section', async () => {
    const out = await render([{ kind: 'UID' }, { kind: 'UID' }, { kind: 'BODY[]', section: { part: [1], peek: true } }, { kind: 'BODY[]', section: { part: [1], peek: true } }]);
    expect(out).toBe(`* 1 FETCH (UID ${uid} BODY[1] {3}\r\none BODY[1] {3}\r\none)\r\n`);
  });

  it('says nothing for a UID that is not in the folder', async () => {
    expect(await readAll(renderFetch(folder, 2, uid + 100, [{ kind: 'UID' }], { utf8: false, includeModseq: false }))).toEqual(Buffer.alloc(0));
  });

  it('fails before writing anything when the file is gone, and keeps a started literal in step', async () => {
    const gone: Folder = Object.create(folder) as Folder;
    gone.read = async () => {
      throw new NotFound('file vanished');
    };
    const chunks: Buffer[] = [];
    await expect(
      (async () => {
        for await (const c of renderFetch(gone, 1, uid, [{ kind: 'UID' }, { kind: 'BODYSTRUCTURE' }], { utf8: false, includeModseq: false })) chunks.push(c);
      })(),
    ).rejects.toBeInstanceOf(NotFound);
    expect(chunks).toEqual([]);
    // Mid-literal: the announced length is kept (padding), the response completed, then the error.
    const broken: Folder = Object.create(folder) as Folder;
    broken.read = async () =>
      Readable.from(
        (async function* () {
          yield Buffer.from('From: a');
          throw new Error('disk went away');
        })(),
      );
    const out: Buffer[] = [];
    await expect(
      (async () => {
        for await (const c of renderFetch(broken, 1, uid, [{ kind: 'BODY[]', section: { part: [], peek: true } }], { utf8: false, includeModseq: false })) out.push(c);
      })(),
    ).rejects.toThrow('disk went away');
    const text = Buffer.concat(out).toString('latin1');
    expect(text).toBe(`* 1 FETCH (BODY[] {${MSG.length}}\r\nFrom: a${' '.repeat(MSG.length - 7)})\r\n`);
  });

  it('serves a large message without reading it whole for a partial fetch', async () => {
    const big = `Subject: big\r\n\r\n${'x'.repeat(78)}\r\n`.repeat(1);
    const body = Buffer.concat([Buffer.from(big), Buffer.alloc(3_000_000, 0x61)]);
    const { uid: bigUid } = await box.append('INBOX', body);
    await folder.sync();
    const reads: Array<{ start: number; end?: number } | undefined> = [];
    const spy: Folder = Object.create(folder) as Folder;
    spy.read = (u, range) => {
      reads.push(range);
      return folder.read(u, range);
    };
    const out = await readAll(renderFetch(spy, 2, bigUid, [{ kind: 'BODY[]', section: { part: [], peek: true, partial: { offset: 2_000_000, length: 10 } } }], { utf8: false, includeModseq: false }));
    expect(out.toString('latin1')).toBe('* 2 FETCH (BODY[]<2000000> {10}\r\naaaaaaaaaa)\r\n');
    expect(reads).toEqual([{ start: 2_000_000, end: 2_000_010 }]);
  });
});
