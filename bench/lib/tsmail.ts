/**
 * The real tsmail daemon as a child process, for protocol benchmarks: `node dist/main.js serve`
 * with the node flags of `npm start` (package.json)
 * when dist/ is at least as new as every file in src/ (after `npm run build`), else
 * `node --import tsx src/main.ts serve` (same code, transpiled on load). A temp config with only
 * the SMTP (port 25 role) listener (or, with `allListeners`, every listener as `npm start` has
 * them), on 127.0.0.1:<free port>:
 *   hostname mx-tsmail.<domain>, data_dir <dir>/<name>, passwd-file directory on the bench's
 *   users file, Maildirs in <dir>/<name>/vmail/%d/%n, [log] level = "warn",
 *   [dns] servers = ["127.0.0.1:9"] (nothing can reach a real resolver), every other key at its
 *   default (config/production.example.toml documents them).
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort, waitForListener } from './net.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface TsmailOptions {
  usersFile: string;
  domain: string;
  /** Keys for the config's [smtp] section (e.g. max_clients). */
  smtpSection?: Record<string, number | boolean | string>;
  /** Extra node flags (e.g. --cpu-prof --cpu-prof-dir=DIR). */
  nodeFlags?: string[];
  /** Every listener (SMTP, submission, submissions, LMTP, IMAP(S), POP3(S)) as `npm start` runs them. */
  allListeners?: boolean;
  /** Extra environment for the daemon. */
  env?: NodeJS.ProcessEnv;
  /** IMAP listeners (imap and imaps on free ports) with these [imap] keys. */
  imapSection?: Record<string, number | boolean | string>;
  /** The certificate chain (key then certificate, one PEM file) for STARTTLS and imaps. */
  certFile?: string;
}

export interface TsmailInstance {
  port: number;
  /** IMAP ports, when started with `imapSection`. */
  imapPort?: number;
  imapsPort?: number;
  pid: number;
  vmail: string;
  /** How it was started ("node dist/main.js" or "node --import tsx src/main.ts"). */
  mode: string;
  /** What it printed (warn level and above). */
  output(): string;
  stop(): Promise<number | null>;
}

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, await newestMtime(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) newest = Math.max(newest, (await stat(p)).mtimeMs);
  }
  return newest;
}

/** The entry point: dist/main.js if it is up to date with src/, else src/main.ts through tsx. */
export async function tsmailEntry(): Promise<{ args: string[]; mode: string }> {
  const dist = path.join(repoRoot, 'dist', 'main.js');
  const built = await stat(dist).then((s) => s.mtimeMs, () => 0);
  if (built > 0 && built >= (await newestMtime(path.join(repoRoot, 'src')))) return { args: [dist], mode: 'node dist/main.js (built)' };
  return { args: ['--import', 'tsx', path.join(repoRoot, 'src', 'main.ts')], mode: 'node --import tsx src/main.ts (dist/ missing or older than src/)' };
}

/** The node flags that package.json's `start` script gives the daemon (`node <flags> dist/main.js serve`). */
async function startFlags(): Promise<string[]> {
  const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  const m = /^node\s+(.*?)\s*dist\/main\.js\b/.exec(pkg.scripts?.start ?? '');
  return m?.[1] ? m[1].split(/\s+/) : [];
}

const toml = (v: number | boolean | string) => (typeof v === 'string' ? JSON.stringify(v) : String(v));

export async function startTsmail(dir: string, name: string, opts: TsmailOptions): Promise<TsmailInstance> {
  const root = path.join(dir, name);
  const vmail = path.join(root, 'vmail');
  await mkdir(vmail, { recursive: true });
  const port = await freePort();
  const others: string[] = [];
  const ports: Record<string, number> = {};
  for (const l of ['submission', 'submissions', 'lmtp', 'imap', 'imaps', 'pop3', 'pop3s']) {
    const on = opts.allListeners || (opts.imapSection && (l === 'imap' || l === 'imaps'));
    if (on) ports[l] = await freePort();
    others.push(`${l} = ${on ? toml(`127.0.0.1:${ports[l]}`) : '""'}`);
  }
  const imap = Object.entries(opts.imapSection ?? {}).map(([k, v]) => `${k} = ${toml(v)}`).join('\n');
  const tlsSection = opts.certFile ? `\n[tls]\ncert = ${toml(opts.certFile)}\nkey = ${toml(opts.certFile)}\n` : '';
  const off = others.join('\n');
  const smtp = Object.entries(opts.smtpSection ?? {}).map(([k, v]) => `${k} = ${toml(v)}`).join('\n');
  const config = path.join(root, 'tsmail.toml');
  await writeFile(
    config,
    `# bench/lib/tsmail.ts: ${opts.allListeners ? 'every listener' : 'the SMTP listener only'}, defaults otherwise
hostname = ${toml(`mx-tsmail.${opts.domain}`)}
data_dir = ${toml(root)}

[listen]
smtp = ${toml(`127.0.0.1:${port}`)}
${off}

[directory]
backend = "passwd-file"
passwd_file = ${toml(opts.usersFile)}
domains = [${toml(opts.domain)}]

[mail]
location = ${toml(`maildir:${vmail}/%d/%n`)}

[smtp]
${smtp}

${opts.imapSection ? `[imap]\n${imap}\n` : ''}${tlsSection}
[dns]
servers = ["127.0.0.1:9"]

[log]
level = "warn"

[daemon]
shutdown_timeout = 5
`,
  );
  const entry = await tsmailEntry();
  // The node flags of `npm start` first (a later flag of the same name wins in V8).
  const flags = [...(await startFlags()), ...(opts.nodeFlags ?? [])];
  const child = spawn(process.execPath, [...flags, ...entry.args, 'serve', '--config', config], {
    cwd: repoRoot,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => ((code = c), resolve(c))));
  const stop = async () => {
    if (code !== undefined) return code;
    child.kill('SIGTERM');
    const c = await Promise.race([exited, sleep(15_000).then(() => undefined)]);
    if (c !== undefined) return c;
    child.kill('SIGKILL');
    return exited;
  };
  try {
    await waitForListener(port, 'tsmail', () => code !== undefined, 60_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}:\n${output}`);
  }
  if (ports.imap) await waitForListener(ports.imap, 'tsmail imap', () => code !== undefined, 60_000);
  return { port, ...(ports.imap ? { imapPort: ports.imap, imapsPort: ports.imaps } : {}), pid: child.pid!, vmail, mode: flags.length ? `${entry.mode} with ${flags.join(' ')}` : entry.mode, output: () => output, stop };
}
