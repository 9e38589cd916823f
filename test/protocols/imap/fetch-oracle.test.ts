import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mimeCorpus } from '../../fixtures/mime/corpus.js';
import { dovecotImapMissing } from '../../helpers/dovecot-imap.js';
import { tempDir } from '../../helpers/tmp.js';
import { firstDifference, oracleRun, sectionsFor, simple, type OracleRun } from './fetch-harness.js';

const missing = dovecotImapMissing();
const corpus = mimeCorpus();

describe.skipIf(missing !== undefined)('FETCH against Dovecot on the same Maildir (tricky MIME corpus)', () => {
  let run: OracleRun;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const t = await tempDir('tsmail-fetch-oracle-');
    cleanup = t.cleanup;
    run = await oracleRun(`${t.dir}/mail`, corpus.map((m) => m.bytes));
  });
  afterAll(async () => {
    await run?.close();
    await cleanup?.();
  });

  it('answers UID, INTERNALDATE, RFC822.SIZE, ENVELOPE, BODY and BODYSTRUCTURE byte for byte', async () => {
    const results = await run.compare(() => ['UID', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY', 'BODYSTRUCTURE'].map((k) => simple(k as 'UID')));
    expect(results).toHaveLength(corpus.length);
    for (const r of results) expect(r.ours.equals(r.dovecot), `${corpus[r.seq - 1]!.name} ${firstDifference(r.dovecot, r.ours)}`).toBe(true);
  });

  it('answers BODY[section] of every part (MIME, HEADER, TEXT, HEADER.FIELDS (NOT), partials) byte for byte', async () => {
    const results = await run.compare((seq, tree) => sectionsFor(tree).filter((s) => !corpus[seq - 1]!.unstableHeaderFields || !s.text.includes('FIELDS')));
    for (const r of results) expect(r.ours.equals(r.dovecot), `${corpus[r.seq - 1]!.name} ${firstDifference(r.dovecot, r.ours)}`).toBe(true);
  });

  it('orders items as Dovecot does: small items first, then the rest as asked', async () => {
    const results = await run.compare((seq, tree) => [...sectionsFor(tree).slice(3, corpus[seq - 1]!.unstableHeaderFields ? 3 : 5), simple('ENVELOPE'), simple('RFC822.SIZE'), simple('BODY'), simple('UID'), simple('UID'), ...sectionsFor(tree).slice(0, 1)]);
    for (const r of results) expect(r.ours.equals(r.dovecot), `${corpus[r.seq - 1]!.name} ${firstDifference(r.dovecot, r.ours)}`).toBe(true);
  });
});
