import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseToml, TomlError } from 'smol-toml';
import { ConfigError } from '../core/errors.js';
import { configSchema, formatIssues, type RawConfig } from './schema.js';

/**
 * The effective, frozen configuration. Paths are absolute: `data_dir` is resolved against the
 * config file's directory; every other relative path (passwd_file, aliases_file, domains_file,
 * tls cert/key, the maildir location) against `data_dir`.
 */
export type Config = RawConfig & { readonly configFile: string };

/** `config/tsmail.toml` of this package: the embedded default that `npm start` uses. */
export function defaultConfigPath(): string {
  // dist/config/load.js and src/config/load.ts both sit two levels below the package root.
  return fileURLToPath(new URL('../../config/tsmail.toml', import.meta.url));
}

/** --config beats TSMAIL_CONFIG beats the embedded default. */
export function chooseConfigPath(cliValue: string | undefined, env: NodeJS.ProcessEnv): string {
  return path.resolve(cliValue || env.TSMAIL_CONFIG || defaultConfigPath());
}

export async function loadConfig(file: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseConfig(text, file);
}

export function parseConfig(text: string, file: string): Config {
  let data: unknown;
  try {
    data = parseToml(text);
  } catch (err) {
    const where = err instanceof TomlError ? ` (line ${err.line}, column ${err.column})` : '';
    throw new ConfigError(`${file}: TOML syntax error${where}: ${(err as Error).message.split('\n')[0]}`);
  }
  const result = configSchema.safeParse(data);
  if (!result.success) throw new ConfigError(`${file}: invalid configuration\n${formatIssues(result.error)}`);
  return deepFreeze(resolvePaths(result.data, path.resolve(file)));
}

function resolvePaths(raw: RawConfig, configFile: string): Config {
  const dataDir = path.resolve(path.dirname(configFile), raw.data_dir);
  const inData = (p: string) => (p === '' ? '' : path.resolve(dataDir, p));
  return {
    ...raw,
    configFile,
    data_dir: dataDir,
    tls: { cert: inData(raw.tls.cert), key: inData(raw.tls.key) },
    directory: {
      ...raw.directory,
      passwd_file: inData(raw.directory.passwd_file),
      aliases_file: inData(raw.directory.aliases_file),
      domains_file: inData(raw.directory.domains_file),
    },
    mail: { ...raw.mail, location: resolveLocation(raw.mail.location, dataDir) },
  };
}

/** `maildir:vmail/%d/%n` → `maildir:/data/vmail/%d/%n`; paths from the home (`%h`, `~`) stay. */
function resolveLocation(location: string, dataDir: string): string {
  const [, rest = ''] = /^maildir:(.*)$/.exec(location) ?? [];
  const [dir = '', ...options] = rest.split(':');
  if (dir.startsWith('%h') || dir.startsWith('~') || path.isAbsolute(dir)) return location;
  return ['maildir:' + path.resolve(dataDir, dir), ...options].join(':');
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
