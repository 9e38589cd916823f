/**
 * What one SMTP connection costs the server, step by step: CPU per connection for sessions that
 * stop after ever more steps, so that the differences between rows price each step. CPU time,
 * not wall time, so the figures hold on a machine shared with other work (wall-clock profiles
 * there charge waiting for a CPU to whatever ran last).
 *
 *   npx tsx bench/session-cost.ts [base-dir] [connections-per-row]
 *
 * Same servers and users as bench/ingest.ts (the tsmail daemon's SMTP listener; a private
 * Postfix → Dovecot LMTP when installed and run as root; both with STARTTLS, self-signed EC
 * P-256). Optional: SESSION_ROWS="greet,ehlo,tls" picks rows, INGEST_STACKS=tsmail (or postfix)
 * one stack, TSMAIL_CPU_PROF=DIR starts tsmail with --cpu-prof, TSMAIL_PERF_MAP=1 with
 * --perf-basic-prof (so `perf record -p <pid>` names JavaScript frames; the pid is printed).
 *
 * Rows, 10 clients in parallel, each session on a new connection unless said otherwise:
 *   greet       connect, read the 220 greeting, QUIT, read 221
 *   ehlo        + EHLO before QUIT
 *   tls         + STARTTLS, handshake offering the previous session (resumed), EHLO again
 *   tls-full    the same with no session offered (full handshake: ECDHE + the server's signature)
 *   message     ehlo + one 4 KB message (MAIL+RCPT+DATA pipelined, body, "."): a 10x4kx1 row
 *   persistent  one 4 KB message on a connection kept open (a 10x4k row): the same work without
 *               the connection, so `message − persistent` is what a connection adds to a message
 * Server CPU per connection (µs): the whole process tree from /proc/<pid>/stat (10 ms ticks, so
 * thousands of connections per row), and for tsmail also its main thread (the event loop) from
 * /proc/<pid>/task/<pid>/schedstat (ns). Messages are delivered and counted as in ingest.ts.
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeSelfSignedChain } from './lib/cert.js';
import { dovecotMissing, startDovecot } from './lib/dovecot.js';
import { countMessages, waitForMessages } from './lib/maildir.js';
import { postfixMissing, startPostfix } from './lib/postfix.js';
import { threadSched, treeCpuMs } from './lib/proc.js';
import { SmtpClient } from './lib/smtp-client.js';
import { fmt, fmtRow } from './lib/stats.js';
import { withTempTree } from './lib/temp.js';
import { startTsmail } from './lib/tsmail.js';
import { DOMAIN, SENDER, allUsers, message, passwdFile, recipientPlan } from './lib/workload.js';

const ARGS = process.argv.slice(2);
const PER_ROW = Number(ARGS.find((a) => /^\d+$/.test(a)) ?? 3000);
const BASE = path.resolve(ARGS.find((a) => !/^\d+$/.test(a)) ?? os.tmpdir());
const CLIENTS = 10;
const HELO = 'client.remote.example';
const KINDS = ['greet', 'ehlo', 'tls', 'tls-full', 'message', 'persistent'] as const;
type Kind = (typeof KINDS)[number];
const ROWS = (process.env.SESSION_ROWS?.split(',') ?? [...KINDS]) as Kind[];
for (const r of ROWS) if (!KINDS.includes(r)) throw new Error(`SESSION_ROWS: unknown row ${r} (${KINDS.join(', ')})`);
const STACKS = (process.env.INGEST_STACKS ?? 'tsmail,postfix').split(',');
const CPU_PROF = process.env.TSMAIL_CPU_PROF ? path.resolve(process.env.TSMAIL_CPU_PROF) : null;
if (!Number.isInteger(PER_ROW) || PER_ROW < 1) throw new Error(`bad count ${PER_ROW}`);

interface Stack {
  name: string;
  port: number;
  vmail: string;
  cpuRoots(): Promise<number[]>;
  loopPid?: number;
}

interface Result {
  perSec: number;
  treeUs: number;
  loopUs: number;
  clientUs: number;
  resumed: number;
}

async function runKind(stack: Stack, kind: Kind, count: number): Promise<Result> {
  const plan = recipientPlan(9000 + KINDS.indexOf(kind), count, 1);
  const body = message(0, 4096, 'session cost');
  const users = allUsers();
  const before = await countMessages(stack.vmail, users);
  const mails = kind === 'message' || kind === 'persistent';
  const startTls = kind === 'tls' || kind === 'tls-full';
  const held = kind === 'persistent' ? await Promise.all(Array.from({ length: CLIENTS }, () => SmtpClient.connect(stack.port, { helo: HELO }))) : [];
  let next = 0;
  let resumed = 0;
  const roots = await stack.cpuRoots();
  const cpu0 = await treeCpuMs(roots);
  const loop0 = stack.loopPid ? await threadSched(stack.loopPid) : null;
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      let session: Buffer | undefined;
      for (;;) {
        const i = next++;
        if (i >= count) return;
        if (kind === 'persistent') {
          const r = await held[c]!.send(SENDER, plan[i]!, body, { stuffed: true });
          if (!r.ok) throw new Error(`${stack.name}: ${r.failure?.text}`);
          continue;
        }
        const conn = await SmtpClient.connect(stack.port, {
          helo: HELO,
          hello: kind !== 'greet',
          startTls,
          ...(kind === 'tls' && session ? { tlsSession: session } : {}),
        });
        if (mails) {
          const r = await conn.send(SENDER, plan[i]!, body, { stuffed: true });
          if (!r.ok) throw new Error(`${stack.name}: ${r.failure?.text}`);
        }
        if (conn.tlsResumed) resumed++;
        if (conn.tlsSession) session = conn.tlsSession;
        await conn.quit();
      }
    }),
  );
  const wall = performance.now() - t0;
  const client = process.cpuUsage(client0);
  const loop1 = stack.loopPid ? await threadSched(stack.loopPid) : null;
  if (mails) await waitForMessages(stack.vmail, users, before + count, { pollMs: 20, stallMs: 60_000 });
  const cpu1 = await treeCpuMs(roots);
  await Promise.all(held.map((c) => c.quit()));
  if (mails) {
    const n = (await countMessages(stack.vmail, users)) - before;
    if (n !== count) throw new Error(`${stack.name} ${kind}: ${n} stored of ${count}`);
  }
  return {
    perSec: (count * 1000) / wall,
    treeUs: ((cpu1 - cpu0) * 1000) / count,
    loopUs: loop0 && loop1 ? ((loop1.cpuMs - loop0.cpuMs) * 1000) / count : NaN,
    clientUs: (client.user + client.system) / count,
    resumed,
  };
}

async function main(): Promise<void> {
  await withTempTree(BASE, 'tsmail-bench-session-', async ({ dir, defer }) => {
    const usersFile = path.join(dir, 'users');
    await writeFile(usersFile, passwdFile(), { mode: 0o644 });
    console.log(`node ${process.version}, ${os.availableParallelism()} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.log(`${PER_ROW} sessions per row, ${CLIENTS} clients in parallel`);
    const stacks: Stack[] = [];
    if (STACKS.includes('tsmail')) {
      const flags = [...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : []), ...(process.env.TSMAIL_PERF_MAP ? ['--perf-basic-prof'] : [])];
      const ts = await startTsmail(dir, 'tsmail', { usersFile, domain: DOMAIN, nodeFlags: flags });
      defer(async () => void (await ts.stop()));
      console.log(`tsmail: ${ts.mode}, pid ${ts.pid}`);
      stacks.push({ name: 'tsmail', port: ts.port, vmail: ts.vmail, cpuRoots: async () => [ts.pid], loopPid: ts.pid });
    }
    if (STACKS.includes('postfix') && !(postfixMissing() ?? dovecotMissing())) {
      const dc = await startDovecot(dir, 'dovecot', usersFile);
      defer(() => dc.stop());
      const chain = path.join(dir, 'postfix-smtpd.pem');
      await writeSelfSignedChain(chain, `mx-postfix.${DOMAIN}`);
      const pf = await startPostfix(dir, 'postfix', { users: allUsers(), domain: DOMAIN, lmtpPort: dc.port, tlsChainFile: chain });
      defer(() => pf.stop());
      stacks.push({
        name: 'postfix+dovecot',
        port: pf.port,
        vmail: dc.vmail,
        cpuRoots: async () => [await pf.masterPid(), await dc.masterPid()].filter((p): p is number => p !== null),
      });
    }
    // Warm-up: every row once, small (processes, JIT, TLS contexts, Maildirs).
    for (const s of stacks) for (const k of ROWS) await runKind(s, k, 200);
    const widths = [16, 11, 9, 12, 12, 11, 9];
    console.log(fmtRow(['stack', 'row', 'per s', 'server CPU', 'main thread', 'client CPU', 'resumed'], widths));
    console.log(fmtRow(['', '', '', 'µs/session', 'µs/session', 'µs/session'], widths));
    for (const k of ROWS) {
      for (const s of stacks) {
        await sleep(500);
        const r = await runKind(s, k, PER_ROW);
        console.log(fmtRow([s.name, k, fmt(r.perSec), fmt(r.treeUs), fmt(r.loopUs), fmt(r.clientUs), k.startsWith('tls') ? `${r.resumed}/${PER_ROW}` : '-'], widths));
      }
    }
  });
}

await main();
