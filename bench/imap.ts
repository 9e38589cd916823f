/**
 * IMAP benchmark, tsmail side by side with a private Dovecot (bench/lib/dovecot.ts) on Maildirs
 * of identical content (two copies: the mixed load changes them).
 *
 *   npx tsx bench/imap.ts [sessions] [mixed] [idle] [big] [--seconds S] [--idle N] [--big N]
 *   (no part named: all of them)
 *
 * - sessions: 10 clients, each in a loop: connect (plain 143-style, then implicit TLS), LOGIN,
 *   SELECT INBOX, FETCH 1:50 (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (...)]), LOGOUT:
 *   the shape of a mail client that logs in again and again. Sessions/s, latency, server CPU.
 * - mixed: 10 logged-in clients, random ops: FETCH a whole message 40%, STORE 20%, SEARCH 20%,
 *   APPEND 10%, STORE \Deleted + EXPUNGE 10%. Ops/s.
 * - idle: N connections (default 10,000 for tsmail; Dovecot at 1,000, its process-per-
 *   connection default) logged in, INBOX selected, in IDLE; PSS of the server's process tree.
 * - big: one folder of --big messages (default 100,000): SELECT cold and warm, FETCH 1:* (UID
 *   FLAGS), FETCH 1:* ENVELOPE first and again (cached), and the server's PSS with it open.
 * 100 users `user000…` with 200 messages of ~4 KB in INBOX each. Needs root (Dovecot runs as
 * nobody) and dovecot-imapd; without them only tsmail is measured.
 */
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { writeSelfSignedChain } from './lib/cert.js';
import { dovecotMissing, dovecotVersion, startDovecot } from './lib/dovecot.js';
import { ImapClient } from './lib/imap-client.js';
import { chownTree, corpusMessage, fillFolder } from './lib/imap-corpus.js';
import { treeMemory } from './lib/memory.js';
import { treeCpuMs } from './lib/proc.js';
import { fmt, fmtRow, summarize } from './lib/stats.js';
import { withTempTree } from './lib/temp.js';
import { startTsmail } from './lib/tsmail.js';
import { DOMAIN, USERS, passwdFile, userName } from './lib/workload.js';
import { prng } from '../test/helpers/prng.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const parts = new Set(args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')));
const want = (p: string) => parts.size === 0 || parts.has(p);
const SECONDS = opt('seconds', 10);
const IDLE_N = opt('idle', 10_000);
const BIG_N = opt('big', 100_000);
const CLIENTS = 10;
const PER_INBOX = 200;
const HEADER_FETCH = 'FETCH 1:50 (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO CC SUBJECT DATE MESSAGE-ID)])';

interface Server {
  name: string;
  imapPort: number;
  imapsPort: number;
  cpuRoots(): Promise<number[]>;
  stop(): Promise<unknown>;
}

async function check(c: ImapClient, cmd: string): Promise<void> {
  const r = await c.command(cmd);
  if (!r.status.startsWith('OK')) throw new Error(`${cmd}: ${r.status}`);
}

async function login(s: Server, user: string, secure = false): Promise<ImapClient> {
  const c = await ImapClient.connect(secure ? s.imapsPort : s.imapPort, secure);
  await check(c, `LOGIN ${user} x`);
  return c;
}

async function sessions(s: Server, secure: boolean): Promise<string[]> {
  const roots = await s.cpuRoots();
  const cpu0 = await treeCpuMs(roots);
  const lat: number[] = [];
  const end = Date.now() + SECONDS * 1000;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async (_, w) => {
    const rand = prng(1000 + w);
    while (Date.now() < end) {
      const start = performance.now();
      try {
        const c = await login(s, userName(Math.floor(rand() * USERS)), secure);
        await check(c, 'SELECT INBOX');
        await check(c, HEADER_FETCH);
        await c.command('LOGOUT');
        c.close();
        lat.push(performance.now() - start);
      } catch {
        errors++;
      }
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  const cpu = (await treeCpuMs(roots)) - cpu0;
  const l = summarize(lat);
  return [s.name, secure ? 'TLS' : 'plain', fmt(lat.length / secs), fmt(l.p50, 1), fmt(l.p99, 1), fmt(cpu / Math.max(1, lat.length), 2), String(errors)];
}

async function mixed(s: Server): Promise<string[]> {
  const roots = await s.cpuRoots();
  const cpu0 = await treeCpuMs(roots);
  const counts = { fetch: 0, store: 0, search: 0, append: 0, expunge: 0 };
  let errors = 0;
  const end = Date.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async (_, w) => {
    const rand = prng(2000 + w);
    const c = await login(s, userName(w));
    await check(c, 'SELECT INBOX');
    let n = 0;
    while (Date.now() < end) {
      const r = rand();
      const uid = 1 + Math.floor(rand() * PER_INBOX);
      try {
        if (r < 0.4) {
          await c.command(`UID FETCH ${uid} (BODY.PEEK[] FLAGS)`);
          counts.fetch++;
        } else if (r < 0.6) {
          await c.command(`UID STORE ${uid} ${rand() < 0.5 ? '+' : '-'}FLAGS.SILENT (\\Seen $Label1)`);
          counts.store++;
        } else if (r < 0.8) {
          await c.command('UID SEARCH UNSEEN SUBJECT "report"');
          counts.search++;
        } else if (r < 0.9) {
          const reply = await c.append('INBOX', Buffer.from(corpusMessage(900000 + w * 100000 + n++, 4096).replace(/\n/g, '\r\n')));
          if (!reply.status.startsWith('OK')) throw new Error(reply.status);
          counts.append++;
        } else {
          // Expunge one of the appended messages so the folder keeps its size.
          await c.command('STORE * +FLAGS.SILENT (\\Deleted)');
          await c.command('EXPUNGE');
          counts.expunge++;
        }
      } catch {
        errors++;
      }
    }
    await c.command('LOGOUT');
    c.close();
  }));
  const secs = (performance.now() - t0) / 1000;
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const cpu = (await treeCpuMs(roots)) - cpu0;
  return [s.name, fmt(total / secs), fmt(cpu / Math.max(1, total), 2), `${counts.fetch}/${counts.store}/${counts.search}/${counts.append}/${counts.expunge}`, String(errors)];
}

async function idle(s: Server, n: number, secure: boolean): Promise<string[]> {
  const roots = await s.cpuRoots();
  const before = await treeMemory(roots);
  const conns: ImapClient[] = [];
  let failed = 0;
  const BATCH = 100;
  for (let i = 0; i < n; i += BATCH) {
    await Promise.all(Array.from({ length: Math.min(BATCH, n - i) }, async (_, k) => {
      try {
        const c = await login(s, userName((i + k) % USERS), secure);
        await check(c, 'SELECT INBOX');
        await c.idle();
        conns.push(c);
      } catch {
        failed++;
      }
    }));
  }
  await new Promise((r) => setTimeout(r, 2000));
  const after = await treeMemory(await s.cpuRoots());
  for (const c of conns) c.close();
  await new Promise((r) => setTimeout(r, 1000));
  const per = conns.length ? ((after.pss - before.pss) * 1024) / conns.length : NaN;
  return [s.name, secure ? 'TLS' : 'plain', String(conns.length), String(failed), fmt(before.pss, 1), fmt(after.pss, 1), fmt(per, 1), String(after.processes)];
}

async function big(s: Server, user: string): Promise<string[]> {
  const c = await login(s, user);
  const time = async (cmd: string) => {
    const t = performance.now();
    const r = await c.command(cmd);
    if (!r.status.startsWith('OK')) throw new Error(`${cmd}: ${r.status}`);
    return performance.now() - t;
  };
  const mem0 = await treeMemory(await s.cpuRoots());
  const cold = await time('SELECT INBOX');
  const flags = await time('FETCH 1:* (UID FLAGS)');
  const env1 = await time('FETCH 1:* (ENVELOPE)');
  const env2 = await time('FETCH 1:* (ENVELOPE)');
  await time('UNSELECT');
  const warm = await time('SELECT INBOX');
  const mem1 = await treeMemory(await s.cpuRoots());
  await c.command('LOGOUT');
  c.close();
  return [s.name, fmt(cold), fmt(warm), fmt(flags), fmt(env1), fmt(env2), fmt(mem1.pss - mem0.pss, 1)];
}

async function main(): Promise<void> {
  const noDovecot = dovecotMissing(true);
  console.log(`IMAP bench — ${new Date().toISOString().slice(0, 10)}; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB; node ${process.version}`);
  console.log(noDovecot ? `Dovecot: not measured (${noDovecot})` : `Dovecot: ${await dovecotVersion()}`);
  await withTempTree('/tmp', 'imap-bench-', async ({ dir, defer }) => {
    const usersFile = path.join(dir, 'users');
    await writeFile(usersFile, passwdFile() + `big@${DOMAIN}:{PLAIN}x:::::\n`);
    const cert = path.join(dir, 'chain.pem');
    await writeSelfSignedChain(cert, 'imap.example.test');
    const populate = async (vmail: string) => {
      for (let u = 0; u < USERS; u++) await fillFolder(path.join(vmail, DOMAIN, userName(u).split('@')[0]!), PER_INBOX, 4096, u * PER_INBOX);
      if (want('big')) await fillFolder(path.join(vmail, DOMAIN, 'big'), BIG_N, 1024, 10_000_000);
    };
    const t0 = performance.now();
    await populate(path.join(dir, 'tsmail', 'vmail'));
    if (!noDovecot) {
      await populate(path.join(dir, 'dovecot', 'vmail'));
      await chownTree(path.join(dir, 'dovecot', 'vmail'));
    }
    console.log(`Maildirs written in ${fmt((performance.now() - t0) / 1000, 1)} s: ${USERS} users × ${PER_INBOX} messages of ~4 KB${want('big') ? `, big@ with ${BIG_N} of ~1 KB` : ''}`);

    const servers: Server[] = [];
    const ts = await startTsmail(dir, 'tsmail', {
      usersFile, domain: DOMAIN, certFile: cert,
      imapSection: { login_without_tls: true },
      smtpSection: {},
      // TSMAIL_CPU_PROF=DIR: a V8 CPU profile of the daemon, written to DIR when it stops.
      ...(process.env.TSMAIL_CPU_PROF ? { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.TSMAIL_CPU_PROF)}`] } : {}),
    });
    defer(async () => void (await ts.stop()));
    console.log(`tsmail: ${ts.mode}; imap + imaps listeners, passwd-file, plaintext LOGIN allowed on 143 (as Dovecot's disable_plaintext_auth = no below)`);
    servers.push({ name: 'tsmail', imapPort: ts.imapPort!, imapsPort: ts.imapsPort!, cpuRoots: async () => [ts.pid], stop: ts.stop });
    if (!noDovecot) {
      const dc = await startDovecot(dir, 'dovecot', usersFile, false, {
        certFile: cert,
        // Room for the idle part's connections; everything else as installed.
        extra: `service imap-login {\n  client_limit = 2000\n}\nservice imap {\n  process_limit = 2000\n}\nmail_max_userip_connections = 100\n`,
      });
      defer(() => dc.stop());
      servers.push({ name: 'dovecot', imapPort: dc.imapPort!, imapsPort: dc.imapsPort!, cpuRoots: async () => [(await dc.masterPid())!], stop: dc.stop });
    }

    if (want('sessions')) {
      console.log(`\nsessions: ${CLIENTS} clients, each: connect, LOGIN, SELECT INBOX (${PER_INBOX} msgs), ${HEADER_FETCH}, LOGOUT; ${SECONDS} s per row`);
      const w = [9, 6, 11, 9, 9, 14, 6];
      console.log(fmtRow(['server', 'conn', 'sessions/s', 'p50 ms', 'p99 ms', 'CPU ms/session', 'errors'], w));
      for (const secure of [false, true]) for (const s of servers) console.log(fmtRow(await sessions(s, secure), w));
    }
    if (want('mixed')) {
      console.log(`\nmixed: ${CLIENTS} logged-in clients, ops: UID FETCH BODY.PEEK[] 40%, UID STORE ±FLAGS 20%, UID SEARCH UNSEEN SUBJECT 20%, APPEND 4 KB 10%, STORE \\Deleted + EXPUNGE 10%; ${SECONDS} s`);
      const w = [9, 8, 10, 26, 6];
      console.log(fmtRow(['server', 'ops/s', 'CPU ms/op', 'fetch/store/search/app/exp', 'errors'], w));
      for (const s of servers) console.log(fmtRow(await mixed(s), w));
    }
    if (want('idle')) {
      console.log(`\nidle: connections logged in, INBOX selected, in IDLE; PSS of the server's processes (MiB) before and with them`);
      const w = [9, 6, 8, 7, 11, 11, 12, 6];
      console.log(fmtRow(['server', 'conn', 'n', 'failed', 'PSS before', 'PSS idle', 'KiB/conn', 'procs'], w));
      for (const secure of [false, true]) {
        for (const s of servers) console.log(fmtRow(await idle(s, s.name === 'dovecot' ? Math.min(IDLE_N, 1000) : IDLE_N, secure), w));
      }
    }
    if (want('big')) {
      console.log(`\nbig: one folder of ${BIG_N} messages (first open: unindexed)`);
      const w = [9, 14, 14, 16, 18, 18, 14];
      console.log(fmtRow(['server', 'SELECT cold ms', 'SELECT warm ms', 'FETCH UID FLAGS', 'FETCH ENVELOPE 1st', 'FETCH ENVELOPE 2nd', 'PSS +MiB open'], w));
      for (const s of servers) console.log(fmtRow(await big(s, `big@${DOMAIN}`), w));
    }
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
