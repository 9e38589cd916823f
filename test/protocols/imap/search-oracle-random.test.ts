/**
 * SEARCH against Dovecot's on random messages (test/fixtures/search/random-corpus.ts): several
 * seeds, each a Maildir of generated messages and a few hundred queries made from their words;
 * searchFolder() must pick exactly the messages Dovecot's imap picks. A failure names the seed;
 * SEARCH_SEEDS=5,6,7 runs other seeds.
 */
import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/logger.js';
import { MaildirStore } from '../../../src/mailstore/maildir/store.js';
import { searchFolder } from '../../../src/protocols/imap/search/evaluate.js';
import { writeCorpus } from '../../fixtures/search/corpus.js';
import { randomCorpus, randomQueries } from '../../fixtures/search/random-corpus.js';
import { dovecotImap, dovecotImapMissing } from '../../helpers/dovecot-imap.js';
import { tempDir } from '../../helpers/tmp.js';
import { describeKey, expandSet, render } from './search-render.js';

const missing = dovecotImapMissing();
const SEEDS = process.env.SEARCH_SEEDS ? process.env.SEARCH_SEEDS.split(",").map(Number) : [1, 2, 3, 4];

describe.skipIf(missing !== undefined)('SEARCH results identical to Dovecot on random messages', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}`, async () => {
      const t = await tempDir();
      await chmod(t.dir, 0o755); // Dovecot runs as nobody when we are root
      const maildir = path.join(t.dir, 'mail');
      const messages = randomCorpus(seed, 40);
      await writeCorpus(maildir, messages);
      const store = new MaildirStore({ log: silentLogger, hostname: 'test.host' });
      const box = await store.openMailbox(maildir);
      const inbox = await box.open('INBOX');
      const dovecot = await dovecotImap(maildir);
      try {
        const queries = randomQueries(seed, messages, 300);
        const commands = [Buffer.from('S1 SELECT INBOX'), ...queries.map((q, i) => Buffer.concat([Buffer.from(`Q${i} SEARCH RETURN (ALL) CHARSET UTF-8 `), ...render(q)]))];
        const out = (await dovecot.run(commands)).toString('latin1');
        const theirs = new Map<string, number[]>();
        for (const m of out.matchAll(/^\* ESEARCH \(TAG "(Q\d+)"\)(?: ALL ([\d:,]+))?\r$/gm)) theirs.set(m[1]!, m[2] ? expandSet(m[2]) : []);
        expect(inbox.count()).toBe(messages.length);
        const diffs: string[] = [];
        let found = 0;
        for (const [i, q] of queries.entries()) {
          const ours = await searchFolder(inbox, q);
          const d = theirs.get(`Q${i}`);
          if (d && d.length > 0) found++;
          if (JSON.stringify(ours) !== JSON.stringify(d)) diffs.push(`${describeKey(q)}: tsmail ${JSON.stringify(ours)}, dovecot ${JSON.stringify(d)}`);
        }
        expect(diffs).toEqual([]);
        expect(found).toBeGreaterThan(queries.length / 3); // the queries do find things
      } finally {
        await inbox.close();
        await box.close();
        await dovecot.cleanup();
        await t.cleanup();
      }
    }, 120_000);
  }
});
