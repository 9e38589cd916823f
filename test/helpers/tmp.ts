import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file (test/helpers/tmp.ts). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Sample data the tests and benches read (schemas, passwd-file); see its README.md. */
export const fixturesDir = path.join(repoRoot, 'test', 'fixtures');

export async function tempDir(prefix = 'tsmail-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  // Retries: a store may still be writing its index cache (batched, 1 s later) when a test ends.
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }) };
}
