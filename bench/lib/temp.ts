/**
 * A benchmark's temporary tree and the cleanups that go with it: run in reverse order at the end,
 * on an error, or on SIGINT/SIGTERM (then the process exits 130), so no private server is left
 * running and nothing is left on disk.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';

export interface TempTree {
  dir: string;
  /** Registers a cleanup (run last-registered first). */
  defer(cleanup: () => Promise<void>): void;
}

export async function withTempTree<T>(base: string, prefix: string, fn: (tree: TempTree) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(base, prefix));
  await chmod(dir, 0o755); // the servers' unprivileged processes (dovecot, nobody, postfix) must get in
  const cleanups: (() => Promise<void>)[] = [() => rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 })];
  let cleaning: Promise<void> | null = null;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const c of cleanups.splice(0).reverse()) await c().catch((e: unknown) => console.error('cleanup:', (e as Error).message));
    })());
  const onSignal = (sig: NodeJS.Signals) => {
    console.error(`\n${sig}: cleaning up`);
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn({ dir, defer: (c) => void cleanups.push(c) });
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
