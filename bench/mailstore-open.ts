/**
 * Opening a big folder: a Maildir INBOX of N messages (default 100,000) laid out as Dovecot
 * leaves it (cur/ files with ,S=,W= and flags, dovecot-uidlist), then
 *   - first: tsmail has never seen it (just migrated from Dovecot): readdir, uidlist, a stat per file;
 *   - cold: a fresh process (restart) with tsmail.index on disk;
 *   - warm: another session opens it while the folder state is in memory;
 *   - flags: listing the flags of every message (what FETCH 1:* FLAGS needs).
 *   npx tsx bench/mailstore-open.ts [N] [dir]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../src/core/logger.js';
import { MaildirStore } from '../src/mailstore/maildir/store.js';

const N = Number(process.argv[2] ?? 100_000);
const base = process.argv[3] ?? os.tmpdir();
const dir = await mkdtemp(path.join(base, 'tsmail-bench-open-'));
const root = path.join(dir, 'user');
const ms = (t: number) => `${(performance.now() - t).toFixed(1)} ms`;

try {
  for (const sub of ['cur', 'new', 'tmp']) await mkdir(path.join(root, sub), { recursive: true });
  let t = performance.now();
  const body = Buffer.from('From: a@example.test\nSubject: bench\n\n' + 'x'.repeat(3000) + '\n');
  const lines = [`3 V1700000000 N${N + 1} G0123456789abcdef0123456789abcdef`];
  const flags = ['', 'S', 'FS', 'RS', 'Sa'];
  for (let i = 1; i <= N; i += 1000) {
    await Promise.all(Array.from({ length: Math.min(1000, N - i + 1) }, (_, k) => {
      const uid = i + k;
      const b = `1700${String(uid).padStart(6, '0')}.M${uid}P1.bench,S=${body.length},W=${body.length + 4}`;
      lines.push(`${uid} :${b}`);
      return writeFile(path.join(root, 'cur', `${b}:2,${flags[uid % flags.length]}`), body);
    }));
  }
  lines.sort((a, b) => (a.startsWith('3 V') ? -1 : b.startsWith('3 V') ? 1 : Number(a.split(' ')[0]) - Number(b.split(' ')[0])));
  await writeFile(path.join(root, 'dovecot-uidlist'), lines.join('\n') + '\n');
  await writeFile(path.join(root, 'dovecot-keywords'), '0 $Label1\n');
  console.log(`created ${N} messages in ${ms(t)}  (${root})`);

  const store = new MaildirStore({ log: silentLogger, specialUse: [] });
  const box = await store.openMailbox(root);
  t = performance.now();
  const initial = await box.open('INBOX');
  console.log(`first open (no tsmail.index yet, e.g. right after migration): ${ms(t)}, ${initial.messages().length} messages`);
  await initial.close();
  await box.close();
  await store.flush();

  const restarted = new MaildirStore({ log: silentLogger, specialUse: [] });
  const box2 = await restarted.openMailbox(root);
  t = performance.now();
  const first = await box2.open('INBOX');
  console.log(`cold open (new process, tsmail.index on disk): ${ms(t)}, ${first.messages().length} messages, heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`);

  for (let i = 0; i < 3; i++) {
    t = performance.now();
    const again = await box2.open('INBOX');
    console.log(`warm open #${i + 1} (folder state in memory): ${ms(t)}`);
    await again.close();
  }
  t = performance.now();
  let seen = 0;
  for (const m of first.messages()) if (m.flags.includes('\\Seen')) seen++;
  console.log(`flags of all ${first.messages().length} messages: ${ms(t)} (${seen} \\Seen)`);
  t = performance.now();
  const st = first.status();
  console.log(`status: ${ms(t)} (${st.messages} messages, ${st.unseen} unseen, ${st.size} bytes)`);
  await first.close();
  await box2.close();
  await restarted.flush();
} finally {
  await rm(dir, { recursive: true, force: true });
}
