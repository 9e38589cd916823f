/**
 * Local delivery throughput: deliveries/s of 4 KB messages to 100 users, with fsync on.
 *
 *   npx tsx bench/delivery.ts [base-dir] [messages-per-row]
 *
 * base-dir (default os.tmpdir()) is where the temporary tree goes, so the bench can run on the
 * disk that holds the mail; messages-per-row defaults to 5000 (an all-digits argument is the
 * count, anything else the directory). Everything is removed afterwards, Dovecot stopped.
 *
 * tsmail: LocalDelivery in-process (begin → addRecipient → commit, durable: tmp → fsync → hard
 * link → fsync new/), over a passwd-file directory of 100 users `user000@example.test`… and
 * `maildir:<tmp>/tsmail-vmail/%d/%n`. Latency is per delivery: addRecipient(s) + commit.
 *
 * Dovecot (when /usr/sbin/dovecot and /usr/lib/dovecot/lmtp exist): a private `dovecot -F`
 * master on a temp base_dir with an LMTP inet listener on 127.0.0.1, userdb passwd-file on the
 * same users file (uid nobody), default settings otherwise (mail_fsync = optimized, index files
 * on, hard-linked copies for several recipients). The bench talks LMTP to it over persistent
 * connections (one per in-flight delivery, opened before timing), pipelining MAIL/RCPT/DATA as
 * Postfix's lmtp client does. Latency is MAIL FROM → last per-recipient reply after the dot.
 * So the Dovecot rows include LMTP protocol and loopback overhead that the tsmail rows do not
 * (bench/ingest.ts measures tsmail's SMTP listener).
 *
 * Same seeded recipient sequence for both. Rows: 1, 10 and 50 deliveries in flight, each message
 * to one random user; then 10 in flight with 10 distinct random users per message (one shared
 * hard-linked write; messages-per-row / 5 messages). Both sides get one warm-up message per user
 * first (Maildirs created, untimed). Rows alternate tsmail / Dovecot so disk state drifts alike;
 * mailboxes keep growing across rows (~250 messages per user at the end).
 * fsyncs/msg: tsmail counts FileHandle.sync()/datasync() calls in-process during the timed rows;
 * Dovecot's come from a separate, shorter pass under `strace -f --seccomp-bpf -y` (not timed),
 * broken down by what was synced, when strace is installed.
 */
import { open, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../src/core/logger.js';
import { LocalDelivery } from '../src/delivery/local-delivery.js';
import { Directory } from '../src/directory/directory.js';
import { PasswdFileBackend } from '../src/directory/passwd-file/backend.js';
import { PasswordHasher } from '../src/directory/schemes/index.js';
import { MaildirStore } from '../src/mailstore/maildir/store.js';
import { STRACE, dovecotMissing, dovecotVersion, startDovecot, type DovecotInstance } from './lib/dovecot.js';
import { countMessages } from './lib/maildir.js';
import { SmtpClient } from './lib/smtp-client.js';
import { fmtRow as fmtCells, summarize } from './lib/stats.js';
import { withTempTree } from './lib/temp.js';
import { DOMAIN, SENDER, USERS, allUsers, message as makeMessage, passwdFile, recipientPlan } from './lib/workload.js';

const ARGS = process.argv.slice(2);
const MESSAGES = Number(ARGS.find((a) => /^\d+$/.test(a)) ?? 5000);
const BASE = path.resolve(ARGS.find((a) => !/^\d+$/.test(a)) ?? os.tmpdir());
const MESSAGE_SIZE = 4096;
/** [in flight, recipients per message, messages]. */
const ROWS: [number, number, number][] = [
  [1, 1, MESSAGES],
  [10, 1, MESSAGES],
  [50, 1, MESSAGES],
  [10, 10, Math.max(1, Math.round(MESSAGES / 5))],
];

if (!Number.isInteger(MESSAGES) || MESSAGES < 1 || MESSAGES > 1_000_000) throw new Error(`bad message count ${MESSAGES}`);

/** A 4096-byte CRLF message (before the Return-Path/Delivered-To/Received the server adds). */
const message = (n: number): Buffer => makeMessage(n, MESSAGE_SIZE, 'delivery bench');

// ---- measurement -----------------------------------------------------------------------------

interface Deliverer {
  name: string;
  /** Delivers one message; `slot` is the worker index (0 ≤ slot < in flight). */
  deliver(slot: number, rcpts: string[], body: Buffer): Promise<void>;
}

interface RowResult {
  msgsPerSec: number;
  p50: number;
  p99: number;
  max: number;
  fsyncs: number | null;
}

let fsyncCalls = 0;

async function runRow(d: Deliverer, inFlight: number, plan: string[][], firstId: number): Promise<RowResult> {
  const lat = new Float64Array(plan.length);
  let next = 0;
  const fsyncsBefore = fsyncCalls;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async (_, slot) => {
      for (;;) {
        const i = next++;
        if (i >= plan.length) return;
        const body = message(firstId + i);
        const t0 = performance.now();
        await d.deliver(slot, plan[i]!, body);
        lat[i] = performance.now() - t0;
      }
    }),
  );
  const elapsed = performance.now() - started;
  return {
    msgsPerSec: (plan.length * 1000) / elapsed,
    ...summarize(lat),
    fsyncs: d.name === 'tsmail' ? (fsyncCalls - fsyncsBefore) / plan.length : null,
  };
}

/** Counts every FileHandle.sync()/datasync() in this process (file and directory fsyncs). */
async function countFsyncs(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  const proto = Object.getPrototypeOf(fh) as { sync: () => Promise<void>; datasync: () => Promise<void> };
  await fh.close();
  for (const key of ['sync', 'datasync'] as const) {
    const orig = proto[key];
    proto[key] = function (this: unknown) {
      fsyncCalls++;
      return orig.call(this);
    };
  }
}

// ---- tsmail ----------------------------------------------------------------------------------

async function tsmailDeliverer(dir: string, usersFile: string): Promise<Deliverer & { close(): Promise<void> }> {
  const backend = new PasswdFileBackend({
    passwdFile: usersFile,
    aliasesFile: path.join(dir, 'aliases'),
    domainsFile: path.join(dir, 'domains'),
    configDomains: [DOMAIN],
  });
  const hasher = new PasswordHasher({ defaultScheme: 'SHA512-CRYPT', workers: 0 });
  const directory = new Directory(backend, hasher, { mailLocation: `maildir:${dir}/tsmail-vmail/%d/%n`, recipientDelimiter: '+' }, silentLogger);
  // The bench users have no quota rule, so the quota check does no I/O (as Dovecot without the quota plugin).
  const delivery = new LocalDelivery({ directory, store: new MaildirStore({ log: silentLogger }), log: silentLogger });
  return {
    name: 'tsmail',
    async deliver(_slot, rcpts, body) {
      const tx = delivery.begin({ sender: SENDER });
      for (const r of rcpts) {
        const s = await tx.addRecipient(r);
        if (s !== null) throw new Error(`tsmail RCPT ${r}: ${JSON.stringify(s)}`);
      }
      const results = await tx.commit(body);
      const bad = results.find((s) => s.kind !== 'delivered');
      if (bad || results.length !== rcpts.length) throw new Error(`tsmail commit: ${JSON.stringify(results)}`);
    },
    async close() {
      await hasher.close();
      await directory.close();
    },
  };
}

// ---- Dovecot over LMTP ------------------------------------------------------------------------

async function dovecotDeliverer(port: number, inFlight: number): Promise<Deliverer & { close(): Promise<void> }> {
  const conns: SmtpClient[] = [];
  try {
    for (let i = 0; i < inFlight; i++) conns.push(await SmtpClient.connect(port, { lmtp: true, helo: 'bench.localhost' }));
  } catch (err) {
    for (const c of conns) c.destroy();
    throw err;
  }
  return {
    name: 'dovecot',
    async deliver(slot, rcpts, body) {
      const r = await conns[slot]!.send(SENDER, rcpts, body);
      if (!r.ok) throw new Error(`LMTP: ${r.failure?.text ?? 'failed'}`);
    },
    async close() {
      await Promise.all(conns.map((c) => c.quit()));
    },
  };
}

// ---- main ------------------------------------------------------------------------------------

const countNew = (vmail: string) => countMessages(vmail, allUsers(), false);

function fmtRow(cells: string[]): string {
  return fmtCells(cells, [9, 10, 8, 10, 12, 9, 9, 9, 11]);
}

async function main(): Promise<void> {
  await withTempTree(BASE, 'tsmail-bench-delivery-', async ({ dir, defer }) => {
    const usersFile = path.join(dir, 'users');
    await writeFile(usersFile, passwdFile(), { mode: 0o644 });
    await countFsyncs(dir);

    const missing = dovecotMissing();
    const haveDovecot = missing === null;
    const cpu = os.cpus()[0]?.model ?? '?';
    console.log(`node ${process.version}, ${os.availableParallelism()} CPUs (${cpu}), UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`);
    console.log(`temp tree ${dir}`);
    console.log(`${MESSAGES} messages per row (10-recipient row: ${ROWS[3]![2]}), ${MESSAGE_SIZE} bytes each, ${USERS} users, random recipients (same seeded sequence for both)`);
    if (!haveDovecot) {
      console.log(`Dovecot rows skipped: ${missing}`);
    } else {
      console.log(`Dovecot ${await dovecotVersion()}: private master, LMTP on 127.0.0.1, userdb passwd-file (uid nobody), mail_fsync = optimized (default)`);
    }
    console.log('tsmail = LocalDelivery in-process (no LMTP/SMTP protocol: bench/ingest.ts measures the SMTP listener);');
    console.log('dovecot = LMTP over loopback, persistent pipelining connections: includes protocol overhead tsmail does not pay.');
    console.log('latency = per delivery (tsmail: addRecipient+commit; dovecot: MAIL FROM to the last reply after DATA)\n');

    const ts = await tsmailDeliverer(dir, usersFile);
    defer(() => ts.close());
    let dc: DovecotInstance | null = null;
    if (haveDovecot) {
      const started = await startDovecot(dir, 'dovecot', usersFile, false);
      defer(() => started.stop());
      dc = started;
    }

    // Warm-up (not timed): create every Maildir (and Dovecot's indexes), JIT, auth processes.
    const warm = allUsers().map((u) => [u]);
    let id = 0;
    await runRow(ts, 10, warm, id);
    if (dc) {
      const d = await dovecotDeliverer(dc.port, 10);
      await runRow(d, 10, warm, id);
      await d.close();
    }
    id += USERS;
    let expectedPerServer = USERS;

    console.log(fmtRow(['server', 'in flight', 'rcpts', 'messages', 'msgs/s', 'rcpts/s', 'p50 ms', 'p99 ms', 'max ms', 'fsyncs/msg']));
    for (const [r, [inFlight, perMessage, messages]] of ROWS.entries()) {
      const plan = recipientPlan(1000 + r, messages, perMessage);
      expectedPerServer += messages * perMessage;
      const targets: (Deliverer & { close?(): Promise<void> })[] = [ts];
      if (dc) targets.push(await dovecotDeliverer(dc.port, inFlight));
      for (const d of targets) {
        const res = await runRow(d, inFlight, plan, id);
        console.log(
          fmtRow([
            d.name,
            String(inFlight),
            String(perMessage),
            String(messages),
            res.msgsPerSec.toFixed(0),
            (res.msgsPerSec * perMessage).toFixed(0),
            res.p50.toFixed(2),
            res.p99.toFixed(2),
            res.max.toFixed(2),
            res.fsyncs === null ? (dc && STRACE ? 'below' : '-') : res.fsyncs.toFixed(2),
          ]),
        );
        if (d !== ts) await d.close?.();
      }
      id += messages;
    }
    if (dc) {
      await dc.stop();
      const problems = await dc.problems();
      console.log(`dovecot log: ${problems.length} error/warning lines${problems.length ? ':\n  ' + problems.slice(0, 5).join('\n  ') : ''}`);
    }

    // Sanity: every delivery is a file in some new/.
    const tsFiles = await countNew(path.join(dir, 'tsmail-vmail'));
    let check = `check: tsmail ${tsFiles} files in new/ (expected ${expectedPerServer})`;
    if (dc) check += `, dovecot ${await countNew(dc.vmail)} (expected ${expectedPerServer})`;
    console.log(check);

    // Dovecot's fsyncs per message, from a separate untimed pass under strace.
    if (haveDovecot && STRACE) {
      const traced = await startDovecot(dir, 'dovecot-strace', usersFile, true);
      defer(() => traced.stop());
      const d = await dovecotDeliverer(traced.port, 10);
      await runRow(d, 10, warm, id);
      const passes: [number, number][] = [
        [1, Math.min(500, MESSAGES)],
        [10, Math.min(100, MESSAGES)],
      ];
      const counts: string[] = [];
      for (const [perMessage, messages] of passes) {
        await sleep(300);
        const before = await traced.fsyncsSoFar();
        await runRow(d, 10, recipientPlan(2000 + perMessage, messages, perMessage), id);
        id += messages;
        await sleep(300);
        const calls = (await traced.fsyncsSoFar()).slice(before.length);
        const by = new Map<string, number>();
        for (const c of calls) by.set(c, (by.get(c) ?? 0) + 1);
        const detail = [...by].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${(v / messages).toFixed(2)} ${k}`).join(', ');
        counts.push(`  ${perMessage} rcpt/msg (${messages} msgs): ${(calls.length / messages).toFixed(2)} per msg = ${detail}`);
      }
      await d.close();
      await traced.stop();
      console.log(`dovecot fsyncs under strace -f (separate untimed pass, 10 in flight, maildirs warm):\n${counts.join('\n')}`);
    }
  });
}

await main();
