/**
 * Inbound SMTP ingest: N concurrent clients sending 4 KB and 100 KB messages to random local
 * users over SMTP on loopback, fsync on; the real tsmail daemon against Postfix → Dovecot LMTP.
 *
 *   npx tsx bench/ingest.ts [base-dir] [messages-per-row]
 *
 * base-dir (default os.tmpdir()) is where the temporary tree goes (put it on the disk that holds
 * the mail); messages-per-row defaults to 2000 (an all-digits argument is the count, anything else
 * the directory). Everything is removed afterwards and every server stopped. Optional, for
 * investigating: INGEST_ROWS="50x4k,10x100k,10x4kx1,10x4kx1tls" runs only those rows (the
 * suffixes below), INGEST_STACKS=tsmail (or postfix) only that stack, TSMAIL_CPU_PROF=DIR starts
 * tsmail with `--cpu-prof --cpu-prof-dir=DIR`.
 *
 * tsmail: the daemon as a child process (bench/lib/tsmail.ts: `node dist/main.js serve` after
 * `npm run build`, else through tsx), only its SMTP listener (the port 25 role) on 127.0.0.1,
 * passwd-file directory of 100 users `user000@example.test`…, Maildirs in the temp tree, every
 * policy key at its default; STARTTLS with the self-signed certificate (EC P-256) it generates
 * in its data_dir. It answers `250` after DATA only once the message is in `tmp/`, fsynced,
 * linked into `new/` and `new/` fsynced.
 * Postfix + Dovecot (when installed and run as root; bench/lib/postfix.ts, bench/lib/dovecot.ts):
 * a private Postfix whose smtpd listens on 127.0.0.1 and whose virtual_transport is LMTP to a
 * private Dovecot on 127.0.0.1, defaults otherwise; STARTTLS as Debian configures it
 * (`smtpd_tls_security_level = may`, session cache + tlsmgr for resumption and tickets) with a
 * self-signed EC P-256 certificate generated in the temp tree (bench/lib/cert.ts). Postfix
 * answers `250` once the queue file is fsynced (it always is), then delivers; Dovecot fsyncs the
 * message and `new/` (mail_fsync = optimized) before its LMTP `250`. So "accepted" means durable
 * on both sides, and "end to end" (all of a row's messages in the Maildirs, found by polling
 * new/ and cur/ every 20 ms once the clients are done) is the figure to compare for mail that
 * users can read; for tsmail the two are the same.
 *
 * Workload, identical for both stacks: rows of C clients × S-byte messages in three shapes (by
 * default {10, 50} × {4 KB, 100 KB} persistent, and {10, 50} × 4 KB in each per-connection shape):
 *  - `CxS` (e.g. 10x4k), persistent: each client keeps one connection (opened before timing;
 *    EHLO once; then per message MAIL, RCPT, DATA pipelined in one write, as both servers
 *    advertise PIPELINING; then the body, then `.`). Latency = from writing the final `.\r\n`
 *    (after the body is out) to the `250`.
 *  - `CxSx1` (e.g. 10x4kx1), one message per connection, as most MTAs and `smtp-source` send:
 *    connect, read the greeting, EHLO, MAIL+RCPT+DATA pipelined, body, `.`, QUIT (the client
 *    waits for `221`), a new TCP connection for the next message. Latency = from connect() to
 *    the `250` after the dot (so it includes the greeting and EHLO round trips).
 *  - `CxSx1tls`: the same with STARTTLS after the first EHLO (then EHLO again inside TLS); each
 *    client offers the TLS session from its previous connection's 'session' event for
 *    resumption, as MTAs with a TLS session cache do; certificates are not verified. The row's
 *    detail line says how many handshakes resumed and what was negotiated.
 * For the per-connection shapes a detail line gives the median time of each step as the client
 * saw it (connect, greeting, EHLO, STARTTLS, handshake, EHLO in TLS, transaction = MAIL → 250,
 * QUIT → 221). Messages go to one random user each from a seeded sequence (the same for both
 * stacks). Rows run tsmail first, then Postfix+Dovecot, so disk state drifts alike; a row starts
 * only once the previous one is fully delivered. Both stacks get one untimed message per user
 * first (Maildirs, Dovecot indexes, Postfix and Dovecot processes, JIT), and when per-connection
 * rows are selected another such pass in that shape (with STARTTLS if any row uses it). After
 * each row the Maildirs are counted: they must hold exactly the messages accepted (no loss, no
 * duplicates). Server CPU is that of the whole process tree (tsmail's node process; Postfix's
 * master and Dovecot's master with all their children) from the first message until the row is
 * stored; "loop cpu+wait" is tsmail's main thread (its event loop) during the sending phase from
 * /proc/<pid>/schedstat: the share of wall time it ran on a CPU + the share it was runnable but
 * waiting for a CPU (their sum near 100% = the loop is the bottleneck); client CPU is this
 * process's.
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dovecotMissing, dovecotVersion, startDovecot } from './lib/dovecot.js';
import { countMessages, waitForMessages } from './lib/maildir.js';
import { postfixMissing, postfixVersion, startPostfix } from './lib/postfix.js';
import { run, threadSched, treeCpuMs } from './lib/proc.js';
import { SmtpClient, type SetupMarks } from './lib/smtp-client.js';
import { fmt, fmtRow, summarize, type LatencySummary } from './lib/stats.js';
import { writeSelfSignedChain } from './lib/cert.js';
import { withTempTree } from './lib/temp.js';
import { repoRoot, startTsmail } from './lib/tsmail.js';
import { DOMAIN, SENDER, USERS, allUsers, message, passwdFile, recipientPlan } from './lib/workload.js';

const ARGS = process.argv.slice(2);
const MESSAGES = Number(ARGS.find((a) => /^\d+$/.test(a)) ?? 2000);
const BASE = path.resolve(ARGS.find((a) => !/^\d+$/.test(a)) ?? os.tmpdir());
const HELO = 'client.remote.example';
/** How a client uses connections: see the top of this file. */
type Shape = 'persistent' | 'per-connection' | 'per-connection-tls';
interface RowSpec {
  clients: number;
  size: number;
  shape: Shape;
}
const ALL_ROWS: RowSpec[] = [
  { clients: 10, size: 4096, shape: 'persistent' },
  { clients: 50, size: 4096, shape: 'persistent' },
  { clients: 10, size: 102_400, shape: 'persistent' },
  { clients: 50, size: 102_400, shape: 'persistent' },
  { clients: 10, size: 4096, shape: 'per-connection' },
  { clients: 50, size: 4096, shape: 'per-connection' },
  { clients: 10, size: 4096, shape: 'per-connection-tls' },
  { clients: 50, size: 4096, shape: 'per-connection-tls' },
];
const ROWS = parseRows(process.env.INGEST_ROWS);
const STACKS = (process.env.INGEST_STACKS ?? 'tsmail,postfix').split(',');
const CPU_PROF = process.env.TSMAIL_CPU_PROF ? path.resolve(process.env.TSMAIL_CPU_PROF) : null;
/** A row fails if nothing new reached the Maildirs for this long after the clients finished. */
const STALL_MS = 60_000;

if (!Number.isInteger(MESSAGES) || MESSAGES < 1 || MESSAGES > 1_000_000) throw new Error(`bad message count ${MESSAGES}`);

function parseRows(spec: string | undefined): RowSpec[] {
  if (!spec) return ALL_ROWS;
  return spec.split(',').map((r) => {
    const m = /^(\d+)x(\d+)(k?)(x1(tls)?)?$/i.exec(r.trim());
    if (!m) throw new Error(`INGEST_ROWS: "${r}" is not CLIENTSxSIZE[x1[tls]] (e.g. 50x4k, 10x4kx1, 10x4kx1tls)`);
    const shape: Shape = m[5] ? 'per-connection-tls' : m[4] ? 'per-connection' : 'persistent';
    return { clients: Number(m[1]), size: Number(m[2]) * (m[3] ? 1024 : 1), shape };
  });
}

const sizeLabel = (size: number) => (size % 1024 === 0 ? `${size / 1024} KB` : `${size} B`);
const SHAPE_LABEL: Record<Shape, string> = { persistent: 'persist', 'per-connection': '1/conn', 'per-connection-tls': '1/conn+TLS' };
const sameRow = (a: RowSpec, b: RowSpec) => a.clients === b.clients && a.size === b.size && a.shape === b.shape;

// ---- workload --------------------------------------------------------------------------------

/** Messages of one size, numbered: a copy of one template with its Message-ID patched. */
function messageMaker(size: number): (n: number) => Buffer {
  const template = message(0, size, 'ingest bench'); // no line starts with ".": already dot-stuffed
  const at = template.indexOf('<0000000000.bench@') + 1;
  if (at <= 0) throw new Error('template has no Message-ID');
  return (n) => {
    const b = Buffer.allocUnsafe(template.length);
    template.copy(b);
    b.write(String(n).padStart(10, '0'), at, 'latin1');
    return b;
  };
}

// ---- one row ---------------------------------------------------------------------------------

interface Stack {
  name: string;
  port: number;
  vmail: string;
  /** Process-tree roots whose CPU counts as the server's. */
  cpuRoots(): Promise<number[]>;
  /** A single-threaded event loop whose busy share is worth showing (tsmail's main thread). */
  loopPid?: number;
}

interface RowResult extends RowSpec {
  stack: string;
  messages: number;
  accepted: number;
  failed: number;
  firstFailure: string | null;
  acceptedPerSec: number;
  /** NaN when the Maildirs never got everything. */
  e2ePerSec: number;
  /** Persistent: final "." → 250; per connection: connect() → 250. */
  latency: LatencySummary;
  serverCpuMsPerMsg: number;
  /**
   * The server's main thread while the clients were sending, as shares of the wall time: on a
   * CPU, and runnable but waiting for one (tsmail only).
   */
  loop: { cpu: number; wait: number } | null;
  clientCpuMsPerMsg: number;
  stored: number;
  /** Per-connection shapes: median ms of each step as the client saw it. */
  steps: Record<string, number> | null;
  /** STARTTLS rows: handshakes that resumed the offered session, handshakes, what was negotiated. */
  tls: { resumed: number; handshakes: number; ciphers: string[] } | null;
}

/** The steps of a per-connection session, from the client's marks (ms each). */
const STEPS: [string, (m: SetupMarks) => number][] = [
  ['connect', (m) => m.connected - m.start],
  ['greeting', (m) => m.greeting - m.connected],
  ['EHLO', (m) => m.ehlo - m.greeting],
  ['STARTTLS', (m) => m.starttls - m.ehlo],
  ['handshake', (m) => m.handshake - m.starttls],
  ['EHLO/TLS', (m) => m.ehloTls - m.handshake],
];

async function runRow(stack: Stack, row: RowSpec, plan: string[][], firstId: number): Promise<RowResult> {
  const { clients, size, shape } = row;
  const users = allUsers();
  const make = messageMaker(size);
  const before = await countMessages(stack.vmail, users);
  const perConnection = shape !== 'persistent';
  const startTls = shape === 'per-connection-tls';
  const conns: SmtpClient[] = [];
  if (!perConnection) {
    try {
      for (let i = 0; i < clients; i++) conns.push(await SmtpClient.connect(stack.port, { helo: HELO }));
    } catch (err) {
      for (const c of conns) c.destroy();
      throw err;
    }
    if (!conns.every((c) => c.pipelining)) throw new Error(`${stack.name} does not offer PIPELINING`);
  }
  const roots = await stack.cpuRoots();
  const lat: number[] = [];
  const steps = new Map<string, number[]>([...STEPS.map(([k]) => [k, []] as [string, number[]]), ['transaction', []], ['QUIT', []]]);
  const tlsSeen = { resumed: 0, handshakes: 0, ciphers: new Set<string>() };
  let accepted = 0;
  let failed = 0;
  let firstFailure: string | null = null;
  let next = 0;
  const fail = (text: string) => {
    failed++;
    firstFailure ??= text;
  };

  /** Persistent shape: one client's loop on its own connection. */
  const persistent = async (conn: SmtpClient) => {
    for (;;) {
      const i = next++;
      if (i >= plan.length) return;
      const r = await conn.send(SENDER, plan[i]!, make(firstId + i), { stuffed: true });
      if (r.ok) {
        accepted++;
        lat.push(r.doneAt - r.dotAt);
      } else fail(r.failure?.text ?? '?');
    }
  };
  /** Per-connection shapes: a new connection for every message, offering the last TLS session. */
  const oneByOne = async () => {
    let session: Buffer | undefined;
    for (;;) {
      const i = next++;
      if (i >= plan.length) return;
      let conn: SmtpClient | undefined;
      try {
        conn = await SmtpClient.connect(stack.port, { helo: HELO, startTls, ...(session ? { tlsSession: session } : {}) });
        if (!conn.pipelining) throw new Error(`${stack.name} does not offer PIPELINING`);
        const r = await conn.send(SENDER, plan[i]!, make(firstId + i), { stuffed: true });
        const m = conn.marks;
        const quitAt = performance.now();
        await conn.quit();
        if (!r.ok) {
          fail(r.failure?.text ?? '?');
          continue;
        }
        accepted++;
        lat.push(r.doneAt - m.start);
        for (const [k, f] of STEPS) {
          const v = f(m);
          if (!Number.isNaN(v)) steps.get(k)!.push(v);
        }
        steps.get('transaction')!.push(r.doneAt - (startTls ? m.ehloTls : m.ehlo));
        steps.get('QUIT')!.push(performance.now() - quitAt);
        if (startTls) {
          tlsSeen.handshakes++;
          if (conn.tlsResumed) tlsSeen.resumed++;
          if (conn.tlsCipher) tlsSeen.ciphers.add(conn.tlsCipher);
          if (conn.tlsSession) session = conn.tlsSession;
        }
      } catch (err) {
        conn?.destroy();
        fail((err as Error).message);
      }
    }
  };

  const cpu0 = await treeCpuMs(roots);
  const loop0 = stack.loopPid ? await threadSched(stack.loopPid) : null;
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(perConnection ? Array.from({ length: clients }, oneByOne) : conns.map(persistent));
  const tAccepted = performance.now();
  const client = process.cpuUsage(client0);
  const loop1 = stack.loopPid ? await threadSched(stack.loopPid) : null;
  // End to end: the first count right after the last 250; if it is complete, everything was in
  // the Maildirs by the time the clients finished.
  const expected = before + accepted;
  let storedAt = tAccepted;
  let count = await countMessages(stack.vmail, users);
  if (count < expected) ({ count, at: storedAt } = await waitForMessages(stack.vmail, users, expected, { pollMs: 20, stallMs: STALL_MS }));
  const cpu1 = await treeCpuMs(roots);
  await Promise.all(conns.map((c) => c.quit()));
  // Settle, then count again: a duplicate delivery would show up here.
  await sleep(300);
  const stored = (await countMessages(stack.vmail, users)) - before;
  const median = (xs: number[]) => summarize(xs).p50;
  return {
    stack: stack.name,
    ...row,
    messages: plan.length,
    accepted,
    failed,
    firstFailure,
    acceptedPerSec: (accepted * 1000) / (tAccepted - t0),
    e2ePerSec: count >= expected ? (accepted * 1000) / (storedAt - t0) : NaN,
    latency: summarize(lat),
    serverCpuMsPerMsg: (cpu1 - cpu0) / plan.length,
    loop: loop0 && loop1 ? { cpu: (loop1.cpuMs - loop0.cpuMs) / (tAccepted - t0), wait: (loop1.waitMs - loop0.waitMs) / (tAccepted - t0) } : null,
    clientCpuMsPerMsg: (client.user + client.system) / 1000 / plan.length,
    stored,
    steps: perConnection ? Object.fromEntries([...steps].filter(([, v]) => v.length).map(([k, v]) => [k, median(v)])) : null,
    tls: startTls ? { ...tlsSeen, ciphers: [...tlsSeen.ciphers] } : null,
  };
}

// ---- output ----------------------------------------------------------------------------------

const ROW_WIDTHS = [16, 8, 7, 11, 6, 9, 8, 7, 8, 8, 11, 8, 9, 7, 12];

function printRow(r: RowResult): void {
  const ok = r.stored === r.accepted && r.accepted === r.messages;
  console.log(
    fmtRow(
      [
        r.stack,
        String(r.clients),
        sizeLabel(r.size),
        SHAPE_LABEL[r.shape],
        String(r.messages),
        String(r.accepted),
        fmt(r.acceptedPerSec),
        fmt(r.latency.p50, 2),
        fmt(r.latency.p99, 2),
        fmt(r.latency.max, 1),
        fmt(r.e2ePerSec),
        fmt(r.serverCpuMsPerMsg, 2),
        r.loop === null ? '-' : `${fmt(r.loop.cpu * 100)}+${fmt(r.loop.wait * 100)}%`,
        fmt(r.clientCpuMsPerMsg, 2),
        `${r.stored}/${r.accepted} ${ok ? 'ok' : 'MISMATCH'}`,
      ],
      ROW_WIDTHS,
    ),
  );
  if (r.steps) console.log(`  steps p50 ms: ${Object.entries(r.steps).map(([k, v]) => `${k} ${fmt(v, 2)}`).join(', ')}`);
  if (r.tls) console.log(`  TLS: ${r.tls.resumed}/${r.tls.handshakes} handshakes resumed; ${r.tls.ciphers.join(', ') || '-'}`);
  if (r.failed) console.log(`  ${r.failed} not accepted, first: ${r.firstFailure}`);
}

function printSummary(results: RowResult[]): void {
  const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '-');
  const widths = [8, 7, 11, 8, 9, 7, 8, 9, 7, 17, 17];
  console.log('\nside by side (msgs/s; latency ms: persist = end of DATA → 250, 1/conn = connect → 250)');
  console.log(fmtRow(['clients', 'size', 'conn', 'accepted', '', '', 'end-to-end', '', '', 'p50 / p99', 'p50 / p99'], widths));
  console.log(fmtRow(['', '', '', 'tsmail', 'pf+dc', 'ratio', 'tsmail', 'pf+dc', 'ratio', 'tsmail', 'pf+dc'], widths));
  for (const row of ROWS) {
    const t = results.find((r) => r.stack === 'tsmail' && sameRow(r, row));
    const p = results.find((r) => r.stack !== 'tsmail' && sameRow(r, row));
    const lat = (r?: RowResult) => (r ? `${fmt(r.latency.p50, 1)} / ${fmt(r.latency.p99, 1)}` : '-');
    console.log(
      fmtRow(
        [
          String(row.clients),
          sizeLabel(row.size),
          SHAPE_LABEL[row.shape],
          fmt(t?.acceptedPerSec),
          fmt(p?.acceptedPerSec),
          ratio(t?.acceptedPerSec ?? NaN, p?.acceptedPerSec ?? NaN),
          fmt(t?.e2ePerSec),
          fmt(p?.e2ePerSec),
          ratio(t?.e2ePerSec ?? NaN, p?.e2ePerSec ?? NaN),
          lat(t),
          lat(p),
        ],
        widths,
      ),
    );
  }
}

// ---- main ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  await withTempTree(BASE, 'tsmail-bench-ingest-', async ({ dir, defer }) => {
    const usersFile = path.join(dir, 'users');
    await writeFile(usersFile, passwdFile(), { mode: 0o644 });
    const users = allUsers();

    const cpu = os.cpus()[0]?.model ?? '?';
    console.log(`node ${process.version}, ${os.availableParallelism()} CPUs (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    const rev = await run('git', ['-C', repoRoot, 'describe', '--always', '--dirty']);
    console.log(`temp tree ${dir}; tsmail source ${rev.code === 0 ? rev.out.trim() : '?'}`);
    console.log(`${MESSAGES} messages per row, ${USERS} users, one random recipient per message (same seeded sequence for both stacks)`);

    const stacks: Stack[] = [];
    if (STACKS.includes('tsmail')) {
      const ts = await startTsmail(dir, 'tsmail', {
        usersFile,
        domain: DOMAIN,
        nodeFlags: CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : [],
      });
      defer(async () => {
        const code = await ts.stop();
        if (code !== 0) console.log(`tsmail exited with ${code}`);
      });
      console.log(`tsmail: ${ts.mode}; SMTP listener only; passwd-file; [smtp] defaults (max_clients 100, 127.0.0.0/8 in mynetworks); [log] warn; [dns] 127.0.0.1:9; STARTTLS with its self-signed EC P-256 certificate`);
      if (CPU_PROF) console.log(`tsmail CPU profile goes to ${CPU_PROF} when it stops`);
      stacks.push({ name: 'tsmail', port: ts.port, vmail: ts.vmail, cpuRoots: async () => [ts.pid], loopPid: ts.pid });
      defer(async () => {
        const out = ts.output().trim();
        console.log(`tsmail log (warn and above): ${out ? out.split('\n').length + ' lines:\n  ' + out.split('\n').slice(0, 5).join('\n  ') : 'empty'}`);
      });
    }
    const missing = postfixMissing() ?? dovecotMissing();
    if (!STACKS.includes('postfix')) {
      console.log('Postfix+Dovecot rows skipped: INGEST_STACKS');
    } else if (missing) {
      console.log(`Postfix+Dovecot rows skipped: ${missing}`);
    } else {
      const dc = await startDovecot(dir, 'dovecot', usersFile);
      defer(() => dc.stop());
      const chain = path.join(dir, 'postfix-smtpd.pem');
      await writeSelfSignedChain(chain, `mx-postfix.${DOMAIN}`);
      const pf = await startPostfix(dir, 'postfix', { users, domain: DOMAIN, lmtpPort: dc.port, tlsChainFile: chain });
      defer(async () => {
        const statuses = await pf.statuses();
        const problems = await pf.problems();
        await pf.stop();
        console.log(`postfix log: ${Object.entries(statuses).map(([k, v]) => `status=${k} ${v}`).join(', ') || 'no deliveries'}; ${problems.length} warning/error lines${problems.length ? ':\n  ' + problems.slice(0, 5).join('\n  ') : ''}`);
      });
      defer(async () => {
        const problems = await dc.problems();
        console.log(`dovecot log: ${problems.length} error/warning lines${problems.length ? ':\n  ' + problems.slice(0, 5).join('\n  ') : ''}`);
      });
      console.log(`Postfix ${await postfixVersion()} → Dovecot ${await dovecotVersion()}: private instances, smtpd on 127.0.0.1, virtual_transport = lmtp:inet:127.0.0.1 (Dovecot LMTP), defaults otherwise (queue file fsynced before 250; Dovecot mail_fsync = optimized); STARTTLS: self-signed EC P-256, security level may, session cache + tlsmgr`);
      stacks.push({
        name: 'postfix+dovecot',
        port: pf.port,
        vmail: dc.vmail,
        cpuRoots: async () => [await pf.masterPid(), await dc.masterPid()].filter((p): p is number => p !== null),
      });
    }
    console.log('persist: each client one connection, EHLO once, then MAIL+RCPT+DATA pipelined, body, "."; latency = final "." → 250');
    console.log('1/conn: connect, greeting, EHLO, [STARTTLS, handshake offering the previous session, EHLO,] MAIL+RCPT+DATA pipelined, body, ".", QUIT; latency = connect → 250');

    // Warm-up (not timed): one message per user through each stack, until stored; again one
    // connection per message when such rows follow (with STARTTLS if any row uses it).
    const warm = users.map((u) => [u]);
    const warmShapes: Shape[] = ['persistent'];
    if (ROWS.some((r) => r.shape === 'per-connection-tls')) warmShapes.push('per-connection-tls');
    else if (ROWS.some((r) => r.shape === 'per-connection')) warmShapes.push('per-connection');
    let id = 0;
    for (const shape of warmShapes) {
      for (const s of stacks) {
        const r = await runRow(s, { clients: 10, size: 4096, shape }, warm, id);
        if (r.stored !== warm.length || r.accepted !== warm.length) throw new Error(`${s.name} warm-up: ${r.accepted} accepted, ${r.stored} stored of ${warm.length}; ${r.firstFailure ?? ''}`);
      }
      id += warm.length;
    }
    console.log(`warm-up: ${warm.length} messages through each stack (${warmShapes.map((w) => SHAPE_LABEL[w]).join(', then ')}), all stored\n`);

    console.log(fmtRow(['stack', 'clients', 'size', 'conn', 'msgs', 'accepted', 'msgs/s', 'p50 ms', 'p99 ms', 'max ms', 'e2e msgs/s', 'srv CPU', 'loop', 'client', 'stored/accepted'], ROW_WIDTHS));
    console.log(fmtRow(['', '', '', '', '', '', '', '', '', '', '', 'ms/msg', 'cpu+wait', 'ms/msg'], ROW_WIDTHS));
    const results: RowResult[] = [];
    for (const [r, row] of ROWS.entries()) {
      const plan = recipientPlan(3000 + r, MESSAGES, 1);
      for (const s of stacks) {
        await sleep(1000); // let the previous row's writeback and log lines settle
        const res = await runRow(s, row, plan, id);
        results.push(res);
        printRow(res);
      }
      id += MESSAGES;
    }
    const total = MESSAGES * ROWS.length + warm.length * warmShapes.length;
    for (const s of stacks) {
      const n = await countMessages(s.vmail, users);
      console.log(`check ${s.name}: ${n} messages in the Maildirs (expected ${total}) ${n === total ? 'ok' : 'MISMATCH'}`);
    }
    if (stacks.length > 1) printSummary(results);
  });
}

await main();
