import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomMessage } from '../../fixtures/mime/fuzz.js';
import { dovecotImapMissing } from '../../helpers/dovecot-imap.js';
import { prng } from '../../helpers/prng.js';
import { tempDir } from '../../helpers/tmp.js';
import { firstDifference, oracleRun, sectionsFor, simple, type OracleRun } from './fetch-harness.js';

const missing = dovecotImapMissing();
// FETCH_FUZZ_SEED replays a failure; the default keeps CI deterministic.
const seed = Number(process.env.FETCH_FUZZ_SEED ?? 20261208);
const COUNT = Number(process.env.FETCH_FUZZ_COUNT ?? 300);

describe.skipIf(missing !== undefined)(`FETCH against Dovecot on random MIME (seed ${seed})`, () => {
  let run: OracleRun;
  let cleanup: () => Promise<void>;
  const rand = prng(seed);
  const messages = Array.from({ length: COUNT }, () => randomMessage(rand));

  beforeAll(async () => {
    const t = await tempDir('tsmail-fetch-fuzz-');
    cleanup = t.cleanup;
    run = await oracleRun(`${t.dir}/mail`, messages);
  });
  afterAll(async () => {
    await run?.close();
    await cleanup?.();
  });

  const show = (seq: number) => JSON.stringify(messages[seq - 1]!.toString('latin1'));

  it('gives the same ENVELOPE, BODY, BODYSTRUCTURE and RFC822.SIZE', async () => {
    const results = await run.compare(() => [simple('RFC822.SIZE'), simple('ENVELOPE'), simple('BODY'), simple('BODYSTRUCTURE')]);
    for (const r of results) expect(r.ours.equals(r.dovecot), `message ${r.seq} ${show(r.seq)}\n${firstDifference(r.dovecot, r.ours)}`).toBe(true);
  });

  it('gives the same bytes for every section', async () => {
    const results = await run.compare((_seq, tree) => sectionsFor(tree));
    for (const r of results) expect(r.ours.equals(r.dovecot), `message ${r.seq} ${show(r.seq)}\n${firstDifference(r.dovecot, r.ours)}`).toBe(true);
  });
});
