import { mkdir, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../core/errors.js';

/**
 * Creates `dir` if needed and proves it is writable by writing and fsyncing a probe file, so that
 * a read-only mount or wrong owner shows at start-up with the config key named, not at the first
 * delivery.
 */
export async function ensureWritableDir(dir: string, key: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o750 });
    const probe = path.join(dir, `.tsmail-write-test.${process.pid}`);
    const fh = await open(probe, 'w', 0o600);
    try {
      await fh.writeFile('ok');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await unlink(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    const uid = process.getuid?.();
    throw new ConfigError(`${key}: directory ${dir} is not writable (${code}) by uid ${uid}`);
  }
}
