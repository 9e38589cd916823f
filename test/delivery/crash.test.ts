import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killSoonAfterFirstOutput, spawnFixture } from '../helpers/child.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * kill -9 at random moments during deliveries: every message acknowledged before the kill is in
 * new/ intact, and nothing half-written is ever visible there (partial files stay in tmp/).
 */
describe('delivery survives kill -9', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeFile(path.join(dir, 'users'), 'alice@example.test:{PLAIN}x:::::\nbob@example.test:{PLAIN}x:::::\n');
    await writeFile(path.join(dir, 'aliases'), 'both@example.test alice@example.test, bob@example.test\n');
  });
  afterAll(() => cleanup());

  it('loses no acknowledged message and shows no partial one over 15 kills', async () => {
    const acked: { id: string; to: string }[] = [];
    for (let run = 0; run < 15; run++) {
      const child = spawnFixture('test/delivery/fixtures/crash-writer.ts', [dir, String(run)]);
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      // let it start (tsx) and deliver a little, then kill at a random point
      await killSoonAfterFirstOutput(child, 400);
      for (const line of out.split('\n')) {
        const m = /^ACK (\S+) (\S+)$/.exec(line);
        if (m) acked.push({ id: m[1]!, to: m[2]! });
      }
    }
    expect(acked.length).toBeGreaterThan(15);

    const visible = new Map<string, Set<string>>();
    for (const user of ['alice', 'bob']) {
      const newDir = path.join(dir, 'vmail/example.test', user, 'new');
      const ids = new Set<string>();
      for (const name of await readdir(newDir)) {
        const text = await readFile(path.join(newDir, name), 'latin1');
        const id = /^Message-ID: <([^@]+)@crash>$/m.exec(text)?.[1];
        const sum = /^X-Body-SHA256: (\w+)$/m.exec(text)?.[1];
        const body = text.slice(text.indexOf('\n\n') + 2).replace(/\n$/, '').replace(/\n/g, '\r\n');
        expect(id, `${name} has no id`).toBeDefined();
        expect(createHash('sha256').update(body).digest('hex'), `${name} is incomplete`).toBe(sum);
        const [, size] = /,S=(\d+)/.exec(name)!;
        expect(Buffer.byteLength(text, 'latin1'), `${name} size`).toBe(Number(size));
        ids.add(id!);
      }
      visible.set(user, ids);
    }
    for (const { id, to } of acked) {
      const users = to === 'both' ? ['alice', 'bob'] : ['alice'];
      for (const u of users) expect(visible.get(u)!.has(id), `acknowledged ${id} missing for ${u}`).toBe(true);
    }
  }, 120_000);
});
