/**
 * How soon an idle session hears of changes (what IMAP IDLE will report):
 *   - in-process: another session appends (an event, no file system round trip);
 *   - outside writer: a file dropped into new/ as Postfix virtual/procmail/Dovecot would.
 *   npx tsx bench/notify.ts [samples]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../src/core/logger.js';
import { MaildirStore } from '../src/mailstore/maildir/store.js';

const SAMPLES = Number(process.argv[2] ?? 20);
const dir = await mkdtemp(path.join(os.tmpdir(), 'tsmail-bench-notify-'));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!.toFixed(1);
// The store's watchers and timers do not keep a process alive (a server's sockets do): this does.
const keepAlive = setInterval(() => {}, 1000);
try {
  const store = new MaildirStore({ log: silentLogger, specialUse: [] });
  const idle = await (await store.openMailbox(path.join(dir, 'u'))).open('INBOX');
  const writer = await store.openMailbox(path.join(dir, 'u'));
  const next = () => new Promise<number>((resolve) => {
    const off = idle.onChange(() => {
      off();
      resolve(performance.now());
    });
  });
  for (const [label, act] of [
    ['another session appends', async (i: number) => void (await writer.append('INBOX', Buffer.from(`Subject: ${i}\r\n\r\nx\r\n`)))],
    ['outside writer drops into new/', async (i: number) => writeFile(path.join(dir, 'u/new', `${Date.now()}.${i}_1.outside`), 'Subject: x\n\nx\n')],
  ] as const) {
    const lat: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const heard = next();
      const t = performance.now();
      await act(i);
      lat.push((await heard) - t);
      await idle.sync();
      await new Promise((r) => setTimeout(r, 30));
    }
    console.log(`${label.padEnd(32)} p50 ${pct(lat, 0.5)} ms   max ${pct(lat, 1)} ms   (${SAMPLES} samples)`);
  }
  await idle.close();
  await writer.close();
  await store.flush();
} finally {
  clearInterval(keepAlive);
  await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
}
