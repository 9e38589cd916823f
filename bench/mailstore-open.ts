/**
 * Opening a big folder: a Maildir INBOX of N messages (default 100,000) laid out as Dovecot
 * leaves it (cur/ files with ,S=,W= and flags, dovecot-uidlist), then
 *   - first: tsmail has never seen it (just migrated from Dovecot): readdir, uidlist, a stat per file;
 *   - cold: a fresh process (restart) with tsmail.index on disk;
 *   - warm: another session opens it while the folder state is in memory (SELECT);
 *   - flags: the flags of every message by sequence number (what FETCH 1:* (UID FLAGS) needs);
 *   - memory: heap (JS heap + typed-array backing stores) held by the open folder, per message,
 *     for the folder state plus one session, and for each further session; then after closing
 *     every session (the folder state is released);
 *   - derived-data cache: an ENVELOPE-sized string per message set, then read back after a restart.
 *   npx tsx bench/mailstore-open.ts [N] [dir]
 */
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { silentLogger } from '../src/core/logger.js';
import { MaildirStore } from '../src/mailstore/maildir/store.js';
import type { Folder } from '../src/mailstore/types.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const N = Number(process.argv[2] ?? 100_000);
/** How long the measured store keeps a closed folder warm (shortened from the default 60 s). */
const IDLE_MS = 3000;
const base = process.argv[3] ?? os.tmpdir();
const dir = await mkdtemp(path.join(base, 'tsmail-bench-open-'));
const root = path.join(dir, 'user');
const ms = (t: number) => `${(performance.now() - t).toFixed(1)} ms`;
const heap = () => {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const perMsg = (b: number) => `${(b / N).toFixed(0)} bytes/message`;
const envelope = (uid: number) =>
  `("Mon, 7 Dec 2026 10:00:00 +0000" "bench message ${uid}" (("Alice" NIL "alice" "example.test")) (("Alice" NIL "alice" "example.test")) ` +
  `(("Alice" NIL "alice" "example.test")) (("Bob" NIL "bob" "example.test")) NIL NIL NIL "<${uid}.bench@example.test>")`;

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

  await firstOpen();
  // The first store's timers have run (index write 1 s; the recheck, 2 s after listing a folder
  // written just before, lists it again): its garbage can go.
  await new Promise((r) => setTimeout(r, 6000));
  // Each phase in its own function: a suspended async frame could keep its locals alive.
  const before = heap();
  const store = await openAndClose(before);
  // The store (as in the daemon) lives on: what it still holds of a folder nobody has open.
  const warmAfter = heap() - before;
  console.log(`after closing every session: heap ${sign(warmAfter)} against the baseline (kept warm: ${store.loadedFolders} folder in memory, ${store.openFolders} open)`);
  await new Promise((r) => setTimeout(r, IDLE_MS + 500));
  const after = heap() - before;
  console.log(`${IDLE_MS / 1000} s later (the store's idleMs; 60 s by default): heap ${sign(after)} (released: ${store.loadedFolders} folders in memory)`);
  const cacheFile = await stat(path.join(root, 'tsmail.cache')).then((s) => mib(s.size), () => 'none');
  console.log(`tsmail.cache on disk: ${cacheFile}`);
  await readCache();
} finally {
  await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}

async function firstOpen(): Promise<void> {
  // idleMs 0: this "process" keeps nothing warm that would blur the next one's baseline.
  const store = new MaildirStore({ log: silentLogger, specialUse: [], idleMs: 0 });
  const box = await store.openMailbox(root);
  const t = performance.now();
  const initial = await box.open('INBOX');
  console.log(`first open (no tsmail.index yet, e.g. right after migration): ${ms(t)}, ${initial.count()} messages`);
  await initial.close();
  await box.close();
  await store.flush();
}

async function openAndClose(before: number): Promise<MaildirStore> {
  const restarted = new MaildirStore({ log: silentLogger, specialUse: [], idleMs: IDLE_MS });
  const box2 = await restarted.openMailbox(root);
  let t = performance.now();
  const first = await box2.open('INBOX');
  const coldMs = ms(t);
  const cold = heap() - before;
  console.log(`cold open (new process, tsmail.index on disk): ${coldMs}, ${first.count()} messages`);
  console.log(`  heap held by the open folder (state + one session): ${sized(cold)}`);

  const sessions: Folder[] = [];
  for (let i = 0; i < 3; i++) {
    const h0 = heap();
    t = performance.now();
    const again = await box2.open('INBOX');
    const took = ms(t);
    sessions.push(again);
    console.log(`warm open (SELECT) #${i + 1} (folder state in memory): ${took}, heap +${sized(heap() - h0)} for this session`);
  }
  console.log(`  heap with 4 sessions on the folder: ${sized(heap() - before)}`);

  t = performance.now();
  let seen = 0;
  for (let seq = 1; seq <= first.count(); seq++) if (first.meta(first.uidAt(seq))!.flags.includes('\\Seen')) seen++;
  console.log(`FETCH 1:* (UID FLAGS) equivalent, all ${first.count()} messages: ${ms(t)} (${seen} \\Seen)`);
  t = performance.now();
  const st = first.status();
  console.log(`status: ${ms(t)} (${st.messages} messages, ${st.unseen} unseen, ${st.size} bytes)`);

  t = performance.now();
  for (let seq = 1; seq <= first.count(); seq++) {
    const uid = first.uidAt(seq);
    first.cacheSet(uid, 'envelope', envelope(uid));
  }
  console.log(`cacheSet of an ENVELOPE (~${envelope(1).length} bytes) for all: ${ms(t)}; heap with 4 sessions now ${sized(heap() - before)}`);
  t = performance.now();
  let hits = 0;
  for (let seq = 1; seq <= first.count(); seq++) if (first.cacheGet(first.uidAt(seq), 'envelope') !== undefined) hits++;
  console.log(`cacheGet of every ENVELOPE (from tsmail.cache): ${ms(t)}, ${hits} hits`);

  for (const s of sessions) await s.close();
  await first.close();
  await box2.close();
  await restarted.flush();
  return restarted;
}

async function readCache(): Promise<void> {
  const third = new MaildirStore({ log: silentLogger, specialUse: [] });
  const box3 = await third.openMailbox(root);
  const f3 = await box3.open('INBOX');
  const t = performance.now();
  let hits = 0;
  for (let seq = 1; seq <= f3.count(); seq++) if (f3.cacheGet(f3.uidAt(seq), 'envelope') !== undefined) hits++;
  console.log(`cacheGet of every ENVELOPE after a restart: ${ms(t)}, ${hits} hits`);
  await f3.close();
  await box3.close();
  await third.flush();
}

function sign(b: number): string {
  return `${b >= 0 ? '+' : ''}${mib(b)}`;
}

function sized(b: number): string {
  return `${mib(b)} = ${perMsg(b)}`;
}
