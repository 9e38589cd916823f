import { chooseConfigPath, loadConfig, type Config } from '../config/load.js';
import { createBackend, createDirectory, createPasswordHasher } from '../compose.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Directory } from '../directory/directory.js';
import type { PasswordHasher } from '../directory/schemes/index.js';
import type { DirectoryAdmin, DirectoryBackend } from '../directory/types.js';
import type { CliIo } from './io.js';

/** What a directory-management command works with; `close()` releases pools and workers. */
export interface CliContext {
  config: Config;
  admin: DirectoryAdmin & DirectoryBackend;
  directory: Directory;
  hasher: PasswordHasher;
  close(): Promise<void>;
}

export async function openContext(configOption: string | undefined, io: CliIo, log: Logger = silentLogger): Promise<CliContext> {
  const config = await loadConfig(chooseConfigPath(configOption, io.env));
  const admin = createBackend(config, log);
  const hasher = createPasswordHasher(config, true);
  const directory = createDirectory(config, admin, hasher, log);
  return {
    config,
    admin,
    directory,
    hasher,
    close: async () => {
      await admin.close();
      await hasher.close();
    },
  };
}

export async function withContext<T>(configOption: string | undefined, io: CliIo, fn: (ctx: CliContext) => Promise<T>): Promise<T> {
  const ctx = await openContext(configOption, io);
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}
