/**
 * Memory footprint of the tsmail daemon: idle right after start, and after N/10 and N messages
 * of mixed SMTP traffic (does it grow?); with the idle footprint of a private Postfix + Dovecot
 * beside it.
 *
 *   npx tsx bench/footprint.ts [messages] [base-dir]
 *
 * messages (default 100000) is N; the checkpoints are N/10 and N. base-dir (default
 * os.tmpdir()) holds the temporary tree (Maildirs: ~1 GB for 100,000 messages). Everything is
 * removed afterwards. Optional: FOOTPRINT_CLIENTS (default 20) concurrent senders;
 * FOOTPRINT_SETTLE (default 30) seconds of idleness before each "settled" reading;
 * FOOTPRINT_STACKS=tsmail (or postfix) for one side only; FOOTPRINT_SNAPSHOTS=DIR writes a heap
 * snapshot at each settled checkpoint and prints what grew between the last two (a snapshot
 * costs the daemon memory of its own: use it for a separate diagnostic run, not for the figures);
 * FOOTPRINT_PROBE=0 runs the daemon without the in-process probe (then /proc figures only);
 * FOOTPRINT_NODE_FLAGS="--max-semi-space-size=4 ..." passes node flags to the daemon, and
 * FOOTPRINT_ENV="K=V ..." environment (e.g. LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2).
 *
 * tsmail runs as `npm start` runs it: `node dist/main.js serve` (bench/lib/tsmail.ts; through tsx
 * if dist/ is older than src/), every listener on 127.0.0.1 (SMTP, submission, submissions,
 * LMTP, IMAP(S), POP3(S)), passwd-file directory of 100 users, self-signed certificate in its
 * data_dir, [log] level warn (npm start logs at info), DNS pointed at a closed port. A first
 * start generates the certificate and is measured too; the main run is a second start that finds
 * it, as every start after the first does. The daemon gets `--expose-gc --import
 * bench/lib/heap-probe.mjs`: on SIGUSR2 the probe reports process.memoryUsage() and, where asked,
 * the live heap after a full collection (only ever at the end of a reading, after /proc was read).
 *
 * Figures (bench/lib/memory.ts): RSS, PSS, "PSS alone" (PSS with the Node binary's pages counted
 * in full: the PSS on a server where tsmail is the only Node process; plain PSS here shares them
 * with whatever other node processes run on this machine), USS (private), anon (anonymous
 * memory), peak RSS (the kernel's VmHWM); from the probe heap used/total, the young
 * generation's committed size ("new space": V8 grows it under allocation pressure, e.g. while
 * modules load, and gives it back only when its memory reducer runs), external, array buffers,
 * and "live heap" / "RSS after GC" after a forced full collection.
 * Postfix + Dovecot (root, Debian packages; bench/lib/postfix.ts and dovecot.ts): Postfix's
 * smtpd → LMTP → Dovecot, summed over both process trees, idle after start and right after
 * N/10 messages of the same traffic (while smtpd, cleanup, lmtp... are still alive). "RSS once"
 * counts each shared page once across the group: its equivalent of a single process's RSS.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dovecotMissing, dovecotVersion, startDovecot } from './lib/dovecot.js';
import { growth, summarizeSnapshot, type Kind } from './lib/heap-snapshot.js';
import { countMessages } from './lib/maildir.js';
import { nodeBinary, processMemory, treeMemory, treeNames, type Memory, type TreeMemory } from './lib/memory.js';
import { postfixMissing, postfixVersion, startPostfix } from './lib/postfix.js';
import { run, treeCpuMs } from './lib/proc.js';
import { fmt, fmtRow } from './lib/stats.js';
import { withTempTree } from './lib/temp.js';
import { TrafficPlan, sendTraffic, type TrafficResult } from './lib/traffic.js';
import { repoRoot, startTsmail, type TsmailInstance } from './lib/tsmail.js';
import { DOMAIN, allUsers, passwdFile } from './lib/workload.js';

const ARGS = process.argv.slice(2);
const N = Number(ARGS.find((a) => /^\d+$/.test(a)) ?? 100_000);
const BASE = path.resolve(ARGS.find((a) => !/^\d+$/.test(a)) ?? os.tmpdir());
const CLIENTS = Number(process.env.FOOTPRINT_CLIENTS ?? 20);
const SETTLE_S = Number(process.env.FOOTPRINT_SETTLE ?? 30);
const STACKS = (process.env.FOOTPRINT_STACKS ?? 'tsmail,postfix').split(',');
const SNAPSHOTS = process.env.FOOTPRINT_SNAPSHOTS ? path.resolve(process.env.FOOTPRINT_SNAPSHOTS) : null;
const PROBE = process.env.FOOTPRINT_PROBE !== '0';
const NODE_FLAGS = (process.env.FOOTPRINT_NODE_FLAGS ?? '').split(' ').filter(Boolean);
/** Extra environment for the daemon, "K=V K=V" (e.g. LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2). */
const DAEMON_ENV = Object.fromEntries((process.env.FOOTPRINT_ENV ?? '').split(' ').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const N1 = Math.round(N / 10);
const SEED = 9009;

if (!Number.isInteger(N) || N < 10 || N > 10_000_000) throw new Error(`bad message count ${N}`);
if (!Number.isInteger(CLIENTS) || CLIENTS < 1) throw new Error(`bad FOOTPRINT_CLIENTS ${CLIENTS}`);

// ---- in-process figures ------------------------------------------------------------------------

interface HeapFigures {
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  rss: number;
  spaces: Record<string, { used: number; physical: number }>;
}

interface ProbeAnswer {
  before: HeapFigures;
  after: HeapFigures | null;
  snapshot: string | null;
}

/** Asks the daemon's heap probe (bench/lib/heap-probe.mjs) for its figures. */
async function askProbe(ts: TsmailInstance, base: string, opts: { gc?: boolean; snapshot?: string }): Promise<ProbeAnswer | null> {
  if (!PROBE) return null;
  await rm(`${base}.json`, { force: true });
  await writeFile(`${base}.req`, JSON.stringify(opts));
  process.kill(ts.pid, 'SIGUSR2');
  const deadline = Date.now() + 120_000; // a heap snapshot of a large heap takes a while
  for (;;) {
    const text = await readFile(`${base}.json`, 'utf8').catch(() => null);
    if (text !== null) return JSON.parse(text) as ProbeAnswer;
    if (Date.now() > deadline) throw new Error('the heap probe did not answer');
    await sleep(50);
  }
}

async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) / 1024;
}

// ---- readings ----------------------------------------------------------------------------------

interface Reading {
  label: string;
  mem: Memory;
  peak: number;
  heap: HeapFigures | null;
  /** After a forced full GC (settled readings only). */
  afterGc: HeapFigures | null;
}

async function read(ts: TsmailInstance, label: string, probeBase: string, node: string, opts: { gc?: boolean; snapshot?: string } = {}): Promise<Reading & { snapshot: string | null }> {
  const mem = await processMemory(ts.pid, node);
  if (!mem) throw new Error(`tsmail (pid ${ts.pid}) is gone:\n${ts.output()}`);
  const peak = await peakRss(ts.pid);
  const probe = await askProbe(ts, probeBase, opts);
  return { label, mem, peak, heap: probe?.before ?? null, afterGc: probe?.after ?? null, snapshot: probe?.snapshot ?? null };
}

const WIDTHS = [34, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7];

function printHeader(): void {
  console.log(fmtRow(['tsmail (MiB)', 'RSS', 'PSS', 'PSS', 'USS', 'anon', 'peak', 'heap', 'heap', 'new', 'extern', 'array', 'live', 'RSS'], WIDTHS));
  console.log(fmtRow(['', '', '', 'alone', '', '', 'RSS', 'used', 'total', 'space', '', 'bufs', 'heap*', 'aftGC*'], WIDTHS));
}

function printReading(r: Reading): void {
  console.log(
    fmtRow(
      [
        r.label,
        fmt(r.mem.rss, 1),
        fmt(r.mem.pss, 1),
        fmt(r.mem.pssAlone, 1),
        fmt(r.mem.uss, 1),
        fmt(r.mem.anon, 1),
        fmt(r.peak, 1),
        fmt(r.heap?.heapUsed, 1),
        fmt(r.heap?.heapTotal, 1),
        fmt(r.heap?.spaces.new_space?.physical, 1),
        fmt(r.heap?.external, 1),
        fmt(r.heap?.arrayBuffers, 1),
        fmt(r.afterGc?.heapUsed, 1),
        fmt(r.afterGc?.rss, 1),
      ],
      WIDTHS,
    ),
  );
}

function describeTraffic(t: TrafficResult): string {
  return (
    `${t.messages} transactions on ${t.connections} connections in ${(t.ms / 1000).toFixed(0)} s ` +
    `(${fmt((t.messages * 1000) / t.ms)}/s): ${t.accepted} accepted (${t.deliveries} deliveries), ` +
    `${t.refusedAsExpected} unknown-recipient refusals, ${t.errors} errors${t.firstError ? ` (first: ${t.firstError})` : ''}`
  );
}

// ---- tsmail ------------------------------------------------------------------------------------

async function benchTsmail(dir: string, usersFile: string, defer: (c: () => Promise<void>) => void): Promise<{ idle: Reading; settled: Reading[] }> {
  const node = await nodeBinary();
  const probeBase = path.join(dir, 'probe');
  const probeFlags = [...NODE_FLAGS, ...(PROBE ? ['--expose-gc', '--import', path.join(repoRoot, 'bench/lib/heap-probe.mjs')] : [])];
  const env = { ...DAEMON_ENV, TSMAIL_BENCH_PROBE: probeBase };
  const start = () => startTsmail(dir, 'tsmail', { usersFile, domain: DOMAIN, allListeners: true, nodeFlags: probeFlags, env });

  // First start: no certificate yet, so it is generated.
  const first = await start();
  defer(async () => void (await first.stop()));
  const extra = [...Object.entries(DAEMON_ENV).map(([k, v]) => `${k}=${v}`), ...NODE_FLAGS].join(' ');
  console.log(`tsmail: ${first.mode}${extra ? ` with ${extra}` : ''}; every listener on 127.0.0.1; passwd-file (${allUsers().length} users); [log] warn`);
  await sleep(5_000);
  const atFirst = await read(first, 'first start (makes cert), +5 s', probeBase, node);
  await first.stop();

  const ts = await start();
  defer(async () => {
    const code = await ts.stop();
    if (code !== 0) console.log(`tsmail exited with ${code}`);
    const out = ts.output().trim().split('\n').filter((l) => l && !/running as root/.test(l));
    console.log(`tsmail log (warn and above, "running as root" left out): ${out.length ? out.length + ' lines:\n  ' + out.slice(0, 5).join('\n  ') : 'empty'}`);
  });
  printHeader();
  printReading(atFirst);
  await sleep(5_000);
  printReading(await read(ts, 'idle, +5 s', probeBase, node));
  await sleep(Math.max(0, SETTLE_S - 5) * 1000);
  const idle = await read(ts, `idle, +${SETTLE_S} s`, probeBase, node, { gc: true, ...(SNAPSHOTS ? { snapshot: path.join(SNAPSHOTS, 'idle.heapsnapshot') } : {}) });
  printReading(idle);

  const plan = new TrafficPlan(SEED);
  const settled: Reading[] = [];
  const snapshots: string[] = idle.snapshot ? [idle.snapshot] : [];
  const totals = { deliveries: 0, messages: 0 };
  const notes: string[] = [];
  for (const target of [N1, N]) {
    const cpu0 = await treeCpuMs([ts.pid]);
    const t = await sendTraffic(ts.port, plan, target - totals.messages, CLIENTS, totals.messages);
    const cpu = (await treeCpuMs([ts.pid])) - cpu0;
    totals.messages += t.messages;
    totals.deliveries += t.deliveries;
    notes.push(`up to ${target}: ${describeTraffic(t)}; tsmail CPU ${fmt(cpu / t.messages, 2)} ms/msg`);
    printReading(await read(ts, `${target} msgs, at once`, probeBase, node));
    await sleep(SETTLE_S * 1000);
    const r = await read(ts, `${target} msgs, +${SETTLE_S} s idle`, probeBase, node, {
      gc: true,
      ...(SNAPSHOTS ? { snapshot: path.join(SNAPSHOTS, `after-${target}.heapsnapshot`) } : {}),
    });
    if (r.snapshot) snapshots.push(r.snapshot);
    printReading(r);
    settled.push(r);
  }
  console.log('* after a forced full GC, at the end of the reading (/proc was read before it)');
  for (const n of notes) console.log(n);
  const stored = await countMessages(ts.vmail, allUsers());
  console.log(`Maildirs: ${stored} messages stored, ${totals.deliveries} expected ${stored === totals.deliveries ? 'ok' : 'MISMATCH'}`);

  const [a, b] = settled as [Reading, Reading];
  const d = (x: number, y: number) => `${y - x >= 0 ? '+' : ''}${(y - x).toFixed(1)}`;
  console.log(
    `growth ${N1} → ${N} msgs (settled): RSS ${d(a.mem.rss, b.mem.rss)} MiB, anon ${d(a.mem.anon, b.mem.anon)} MiB` +
      (a.afterGc && b.afterGc ? `, live heap ${d(a.afterGc.heapUsed, b.afterGc.heapUsed)} MiB, RSS after GC ${d(a.afterGc.rss, b.afterGc.rss)} MiB` : ''),
  );
  if (snapshots.length >= 2) {
    const kinds: Map<string, Kind>[] = [];
    for (const s of snapshots.slice(-2)) kinds.push(await summarizeSnapshot(s));
    console.log(`heap snapshots ${snapshots.slice(-2).map((s) => path.basename(s)).join(' → ')}: largest growth by kind`);
    for (const g of growth(kinds[0]!, kinds[1]!)) console.log(`  ${g.kind.padEnd(40)} ${g.count >= 0 ? '+' : ''}${g.count} objects, ${(g.bytes / 1024).toFixed(0)} KiB`);
  }
  return { idle, settled };
}

// ---- Postfix + Dovecot -------------------------------------------------------------------------

async function benchPostfix(dir: string, usersFile: string, defer: (c: () => Promise<void>) => void): Promise<TreeMemory | null> {
  const missing = postfixMissing() ?? dovecotMissing();
  if (missing) {
    console.log(`Postfix + Dovecot skipped: ${missing}`);
    return null;
  }
  const dc = await startDovecot(dir, 'dovecot', usersFile);
  defer(() => dc.stop());
  const pf = await startPostfix(dir, 'postfix', { users: allUsers(), domain: DOMAIN, lmtpPort: dc.port });
  defer(() => pf.stop());
  console.log(`\nPostfix ${await postfixVersion()} → Dovecot ${await dovecotVersion()} (LMTP only; private instances, defaults otherwise)`);
  const roots = async () => [await pf.masterPid(), await dc.masterPid()].filter((p): p is number => p !== null);
  const widths = [34, 7, 7, 7, 7, 7, 5];
  console.log(fmtRow(['postfix+dovecot (MiB, Σ of tree)', 'RSS', 'RSS', 'PSS', 'USS', 'anon', 'procs'], widths));
  console.log(fmtRow(['', '', 'once', '', '', '', ''], widths));
  const row = async (label: string) => {
    const m = await treeMemory(await roots());
    console.log(fmtRow([label, fmt(m.rss, 1), fmt(m.rssOnce, 1), fmt(m.pss, 1), fmt(m.uss, 1), fmt(m.anon, 1), String(m.processes)], widths));
    console.log(`  ${await treeNames(await roots())}`);
    return m;
  };
  await sleep(SETTLE_S * 1000);
  const idle = await row(`idle, +${SETTLE_S} s`);
  const t = await sendTraffic(pf.port, new TrafficPlan(SEED), N1, CLIENTS, 0);
  await row(`${N1} msgs, at once`);
  console.log(`  ${describeTraffic(t)}`);
  return idle;
}

// ---- main --------------------------------------------------------------------------------------

async function main(): Promise<void> {
  await withTempTree(BASE, 'tsmail-bench-footprint-', async ({ dir, defer }) => {
    const usersFile = path.join(dir, 'users');
    await writeFile(usersFile, passwdFile(), { mode: 0o644 });
    if (SNAPSHOTS) await mkdir(SNAPSHOTS, { recursive: true });
    const cpu = os.cpus()[0]?.model ?? '?';
    console.log(`node ${process.version}, ${os.availableParallelism()} CPUs (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    const rev = await run('git', ['-C', repoRoot, 'describe', '--always', '--dirty']);
    console.log(`tsmail source ${rev.code === 0 ? rev.out.trim() : '?'}; ${N} messages (checkpoints ${N1}, ${N}), ${CLIENTS} clients, settle ${SETTLE_S} s`);
    console.log('traffic: half the connections 1 message, half 2–40; 88% 1 rcpt, 10% 2–5, 2% unknown rcpt (550); 1–32 KB log-uniform, 1% 256 KB; 5% of connections dropped without QUIT');

    const bare = await run(process.execPath, ['-e', `setTimeout(() => { const t = require('fs').readFileSync('/proc/self/smaps_rollup', 'utf8'); console.log(/^Rss:\\s+(\\d+)/m.exec(t)[1], /^Anonymous:\\s+(\\d+)/m.exec(t)[1]); }, 1000)`]);
    const [bareRss, bareAnon] = bare.out.trim().split(' ').map((k) => Number(k) / 1024);
    console.log(`baseline: a bare \`node -e\` (one timer): RSS ${fmt(bareRss, 1)} MiB, anon ${fmt(bareAnon, 1)} MiB\n`);

    let tsIdle: Reading | null = null;
    if (STACKS.includes('tsmail')) tsIdle = (await benchTsmail(dir, usersFile, defer)).idle;
    const pfIdle = STACKS.includes('postfix') ? await benchPostfix(dir, usersFile, defer) : null;
    if (tsIdle && pfIdle) {
      console.log(
        `\nidle, side by side (MiB): tsmail RSS ${fmt(tsIdle.mem.rss, 1)}, PSS alone ${fmt(tsIdle.mem.pssAlone, 1)}, PSS ${fmt(tsIdle.mem.pss, 1)}, USS ${fmt(tsIdle.mem.uss, 1)}; ` +
          `Postfix + Dovecot RSS once ${fmt(pfIdle.rssOnce, 1)}, Σ PSS ${fmt(pfIdle.pss, 1)}, Σ USS ${fmt(pfIdle.uss, 1)}`,
      );
    }
  });
}

await main();
