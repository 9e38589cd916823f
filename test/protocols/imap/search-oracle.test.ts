/**
 * SEARCH against Dovecot's: the corpus of tricky messages (test/fixtures/search/corpus.ts) in one
 * Maildir, Dovecot's imap on it answering many SEARCH commands, and searchFolder() on the same
 * Maildir through tsmail's store; the matching messages must be identical. UIDs are the same on
 * both sides (tsmail writes dovecot-uidlist first, Dovecot reads it), so sequence numbers are too.
 * Dovecot's answers come as ESEARCH with the command's tag, so pipelining cannot mix them up.
 */
import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/logger.js';
import { MaildirStore } from '../../../src/mailstore/maildir/store.js';
import type { Folder, Mailbox } from '../../../src/mailstore/types.js';
import { searchKeyToUtf8 } from '../../../src/protocols/imap/search/charset.js';
import { searchFolder } from '../../../src/protocols/imap/search/evaluate.js';
import type { SearchKey } from '../../../src/protocols/imap/types.js';
import { corpus, writeCorpus } from '../../fixtures/search/corpus.js';
import { dovecotImap, dovecotImapMissing, type DovecotImap } from '../../helpers/dovecot-imap.js';
import { tempDir } from '../../helpers/tmp.js';
import { describeKey, expandSet, render } from './search-render.js';
import { searchQueries } from './search-queries.js';

const missing = dovecotImapMissing();

describe.skipIf(missing !== undefined)('SEARCH results identical to Dovecot on a tricky corpus', () => {
  let cleanup: () => Promise<void>;
  let box: Mailbox;
  let inbox: Folder;
  let dovecot: DovecotImap;
  const dovecotResults = new Map<string, number[] | string>();
  const queries = searchQueries(corpus().length);
  const latin1Queries: SearchKey[] = ['café', 'CRÈME', 'résumé', 'René', 'Zoë', 'ünter'].flatMap((w) => {
    const value = Buffer.from(w, 'latin1');
    return [{ kind: 'body', value }, { kind: 'text', value }, { kind: 'header', field: 'Subject', key: 'SUBJECT', value }, { kind: 'header', field: 'From', key: 'FROM', value }] as SearchKey[];
  });

  beforeAll(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    await chmod(t.dir, 0o755); // Dovecot runs as nobody when we are root
    const maildir = path.join(t.dir, 'mail');
    await writeCorpus(maildir);
    const store = new MaildirStore({ log: silentLogger, hostname: 'test.host' });
    box = await store.openMailbox(maildir);
    inbox = await box.open('INBOX');
    dovecot = await dovecotImap(maildir);
    const commands = [Buffer.from('S1 SELECT INBOX')];
    queries.forEach((q, i) => commands.push(Buffer.concat([Buffer.from(`Q${i} SEARCH RETURN (ALL) CHARSET UTF-8 `), ...render(q)])));
    latin1Queries.forEach((q, i) => commands.push(Buffer.concat([Buffer.from(`L${i} SEARCH RETURN (ALL) CHARSET ISO-8859-1 `), ...render(q)])));
    const out = (await dovecot.run(commands)).toString('latin1');
    for (const m of out.matchAll(/^\* ESEARCH \(TAG "([QL]\d+)"\)(?: ALL ([\d:,]+))?\r$/gm)) dovecotResults.set(m[1]!, m[2] ? expandSet(m[2]) : []);
    for (const m of out.matchAll(/^([QL]\d+) (NO|BAD) (.*)\r$/gm)) dovecotResults.set(m[1]!, `${m[2]} ${m[3]}`);
  }, 60_000);

  afterAll(async () => {
    await inbox?.close();
    await box?.close();
    await dovecot?.cleanup();
    await cleanup?.();
  });

  it('has the same UIDs on both sides', () => {
    expect(inbox.count()).toBe(corpus().length);
    expect(dovecotResults.get('Q0')).toEqual(Array.from({ length: corpus().length }, (_, i) => i + 1));
  });

  it('matches every query', async () => {
    const diffs: string[] = [];
    for (const [i, q] of queries.entries()) {
      const theirs = dovecotResults.get(`Q${i}`);
      // Both use the machine's time zone for INTERNALDATE days.
      const ours = await searchFolder(inbox, q);
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) diffs.push(`${describeKey(q)}: tsmail ${JSON.stringify(ours)}, dovecot ${JSON.stringify(theirs)}`);
    }
    expect(diffs).toEqual([]);
    expect(queries.length).toBeGreaterThan(200);
    // The comparison means something: hundreds of queries pick some messages and not all of them.
    const picking = queries.filter((_, i) => {
      const r = dovecotResults.get(`Q${i}`);
      return Array.isArray(r) && r.length > 0 && r.length < corpus().length;
    });
    expect(picking.length).toBeGreaterThan(300);
  });

  it('matches with CHARSET ISO-8859-1 strings', async () => {
    const diffs: string[] = [];
    for (const [i, q] of latin1Queries.entries()) {
      const ours = await searchFolder(inbox, searchKeyToUtf8(q, 'ISO-8859-1'));
      const theirs = dovecotResults.get(`L${i}`);
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) diffs.push(`${describeKey(searchKeyToUtf8(q, 'ISO-8859-1'))}: tsmail ${JSON.stringify(ours)}, dovecot ${JSON.stringify(theirs)}`);
    }
    expect(diffs).toEqual([]);
    expect(latin1Queries.filter((_, i) => (dovecotResults.get(`L${i}`) ?? []).length > 0).length).toBeGreaterThan(10);
  });
});
