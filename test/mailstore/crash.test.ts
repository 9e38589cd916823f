import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { MaildirStore } from '../../src/mailstore/maildir/store.js';
import { killSoonAfterFirstOutput, readAll, spawnFixture } from '../helpers/child.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * kill -9 at random moments during APPENDs: every append that returned a UID is there, intact,
 * with that UID; nothing else is visible; UIDs stay unique across the crashes.
 */
describe('APPEND survives kill -9', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('keeps every acknowledged message with its UID over 12 kills', async () => {
    const root = path.join(dir, 'u');
    const acked = new Map<number, { id: string; sum: string }>();
    for (let run = 0; run < 12; run++) {
      const child = spawnFixture('test/mailstore/fixtures/crash-appender.ts', [root, String(run)]);
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      await killSoonAfterFirstOutput(child, 300);
      for (const line of out.split('\n')) {
        const m = /^ACK (\d+) (\S+) (\w+)$/.exec(line);
        if (!m) continue;
        expect(acked.has(Number(m[1])), `UID ${m[1]} handed out twice`).toBe(false);
        acked.set(Number(m[1]), { id: m[2]!, sum: m[3]! });
      }
    }
    expect(acked.size).toBeGreaterThan(12);

    const box = await new MaildirStore({ log: silentLogger, specialUse: [] }).openMailbox(root);
    const inbox = await box.open('INBOX');
    const uids = inbox.messages().map((m) => m.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const uid of uids) {
      const msg = await readAll(await inbox.read(uid));
      const id = /^Message-ID: <([^@]+)@crash>/.exec(msg.toString('latin1'))?.[1];
      const want = acked.get(uid);
      if (want) {
        expect(id, `UID ${uid}`).toBe(want.id);
        expect(createHash('sha256').update(msg).digest('hex'), `UID ${uid} content`).toBe(want.sum);
      } else {
        // saved and given a UID just before the kill, not yet acknowledged: must still be whole
        expect(msg.toString('latin1').endsWith('\r\n'), `UID ${uid} is partial`).toBe(true);
      }
    }
    for (const uid of acked.keys()) expect(uids, `acknowledged UID ${uid} lost`).toContain(uid);
    await inbox.close();
    await box.close();
  }, 120_000);
});
