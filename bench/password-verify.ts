/**
 * Password verification throughput and its cost to the event loop, per Dovecot scheme.
 *
 *   npx tsx bench/password-verify.ts [seconds-per-case]
 *
 * For each scheme: verifies/s with `CONCURRENCY` logins in flight, and the worst event-loop
 * delay seen meanwhile (what every other SMTP/IMAP session would wait), once with the crypt
 * worker pool and once computing SHA-crypt/MD5-crypt inline on the main thread (`workers: 0`).
 * bcrypt and argon2 always run on libuv's thread pool, so their two rows should match.
 * The verify cache is off except in the last row, which shows a repeated login's cost.
 */
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { cryptSync } from '../src/directory/schemes/crypt/crypt.js';
import { PasswordHasher, SCHEMES, type SchemeName } from '../src/directory/schemes/index.js';

const SECONDS = Number(process.argv[2] ?? 1.5);
const CONCURRENCY = 8;
const POOL_WORKERS = Math.max(1, Math.min(4, availableParallelism() - 1));

interface Account {
  stored: string;
  password: string;
}

async function accounts(scheme: SchemeName, n: number): Promise<Account[]> {
  const h = new PasswordHasher({ defaultScheme: scheme, workers: POOL_WORKERS });
  try {
    return await Promise.all(
      Array.from({ length: n }, async (_, i) => ({ password: `bench-${i}-✓`, stored: await h.hash(`bench-${i}-✓`, scheme) })),
    );
  } finally {
    await h.close();
  }
}

interface Result {
  perSecond: number;
  maxDelayMs: number;
  p99DelayMs: number;
}

async function run(hasher: PasswordHasher, accts: Account[]): Promise<Result> {
  // Warm up: start the worker threads and JIT outside the measurement.
  await Promise.all(accts.map((a) => hasher.verify(a.stored, a.password)));
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  await sleep(20); // the histogram's first tick only sets its baseline
  const started = performance.now();
  let done = 0;
  while (performance.now() - started < SECONDS * 1000) {
    // Distinct accounts per batch, so no two identical verifies share one computation.
    const ok = await Promise.all(accts.map((a) => hasher.verify(a.stored, a.password)));
    if (!ok.every(Boolean)) throw new Error('verification failed');
    done += accts.length;
    // Back to the event loop between batches, as a server is between socket reads; otherwise a
    // chain of already-resolved promises would never let the delay timer run at all.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const elapsed = performance.now() - started;
  await sleep(20); // let a late timer record the last stall
  delay.disable();
  return { perSecond: (done * 1000) / elapsed, maxDelayMs: delay.max / 1e6, p99DelayMs: delay.percentile(99) / 1e6 };
}

function row(cells: string[]): string {
  const widths = [14, 22, 12, 16, 16];
  return cells.map((c, i) => c.padEnd(widths[i] ?? 12)).join(' ');
}

async function main(): Promise<void> {
  // One SHA512-CRYPT computation on the main thread: what each login would block every session.
  const setting = '$6$sdcbbba29dadb$8v4kUDpNbP5TdjI6RuJYSoALH6R8G58m7BBvic2oBk7hGgSc4xVL6ueCjpA9k.QFvhdEAh/L.Bu0V7lKn4ntA0';
  for (let i = 0; i < 20; i++) cryptSync(setting, 'alice-pass');
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) cryptSync(setting, 'alice-pass');
  const oneMs = (performance.now() - t0) / 100;

  console.log(`node ${process.version}, ${availableParallelism()} CPUs, pool workers ${POOL_WORKERS}, ` +
    `UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, ${CONCURRENCY} logins in flight, ${SECONDS}s per case`);
  console.log(`one SHA512-CRYPT verify (5000 rounds) on the main thread: ${oneMs.toFixed(2)} ms\n`);
  console.log(row(['scheme', 'mode', 'verifies/s', 'loop max (ms)', 'loop p99 (ms)']));
  const idle = monitorEventLoopDelay({ resolution: 1 });
  idle.enable();
  await sleep(SECONDS * 1000);
  idle.disable();
  console.log(row(['(none)', 'idle loop, baseline', '-', (idle.max / 1e6).toFixed(1), (idle.percentile(99) / 1e6).toFixed(1)]));

  for (const scheme of SCHEMES) {
    const accts = await accounts(scheme, CONCURRENCY);
    for (const workers of [POOL_WORKERS, 0]) {
      const hasher = new PasswordHasher({ defaultScheme: scheme, workers, cacheTtlMs: 0 });
      try {
        const r = await run(hasher, accts);
        const mode = workers === 0 ? 'inline (workers: 0)' : `pool (workers: ${workers})`;
        console.log(row([scheme, mode, r.perSecond.toFixed(0), r.maxDelayMs.toFixed(1), r.p99DelayMs.toFixed(1)]));
      } finally {
        await hasher.close();
      }
    }
  }

  const cached = new PasswordHasher({ defaultScheme: 'SHA512-CRYPT', workers: POOL_WORKERS });
  try {
    const r = await run(cached, await accounts('SHA512-CRYPT', CONCURRENCY));
    console.log(row(['SHA512-CRYPT', 'pool + verify cache', r.perSecond.toFixed(0), r.maxDelayMs.toFixed(1), r.p99DelayMs.toFixed(1)]));
  } finally {
    await cached.close();
  }
}

await main();
