import { stringify } from 'smol-toml';
import { chooseConfigPath, loadConfig, type Config } from '../config/load.js';
import { createBackend } from '../compose.js';
import { formatListen } from '../config/listen.js';
import { silentLogger } from '../core/logger.js';
import type { CliIo } from './io.js';

/** `tsmail config check`: validate, then print the effective config (secrets masked). */
export async function configCheck(io: CliIo, opts: { config?: string }): Promise<void> {
  const file = chooseConfigPath(opts.config, io.env);
  const config = await loadConfig(file);
  // Building the backend validates what the schema cannot: e.g. custom MySQL queries and their placeholders.
  await createBackend(config, silentLogger).close();
  io.stdout.write(`# ${file}: OK\n${stringify(printable(config))}`);
}

function printable(config: Config): Record<string, unknown> {
  const { configFile: _file, ...rest } = config;
  const listen = Object.fromEntries(
    Object.entries(config.listen).map(([k, v]) => [k, v ? formatListen(v) : '']),
  );
  const mysql = { ...config.directory.mysql, password: config.directory.mysql.password ? '********' : '' };
  return { ...rest, listen, directory: { ...config.directory, mysql } };
}
