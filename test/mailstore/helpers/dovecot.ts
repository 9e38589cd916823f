import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Real Dovecot as an oracle for the Maildir formats: `doveadm` works on a Maildir without a
 * running daemon. It refuses to touch mail as root, so when the tests run as root it runs as
 * `nobody` (setpriv) on a home directory owned by nobody; files the test writes there must be
 * handed over with giveToDovecot().
 */
export const DOVEADM = '/usr/bin/doveadm';

export interface DoveadmAvailability {
  ok: boolean;
  reason?: string;
}

const asRoot = process.getuid?.() === 0;

function runnable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the doveadm tests can run here. In CI (`CI=true`) a missing doveadm is an error, not
 * a skip, so the interop tests cannot silently stop running.
 */
export function doveadmAvailable(): DoveadmAvailability {
  let reason: string | undefined;
  if (!runnable(DOVEADM)) reason = `${DOVEADM} not found (apt-get install dovecot-core)`;
  else if (asRoot && !runnable('/usr/bin/setpriv')) reason = 'running as root but /usr/bin/setpriv is missing';
  else if (spawnSync(DOVEADM, ['-c', '/dev/null', 'help'], { stdio: 'ignore' }).error) reason = `${DOVEADM} does not start`;
  if (reason === undefined) return { ok: true };
  if (process.env.CI === 'true') throw new Error(`doveadm is required in CI: ${reason}`);
  console.warn(`[skipped] Dovecot interop tests: ${reason}`);
  return { ok: false, reason };
}

export interface DovecotHome {
  /** Temp directory holding everything (delete with cleanup()). */
  root: string;
  /** HOME of the doveadm user. */
  home: string;
  /** The Maildir root (mail_location), which is also INBOX. */
  mail: string;
  conf: string;
  uid: number;
  gid: number;
}

export interface DovecotHomeOptions {
  /** Add Maildir++ quota (`quota = maildir`, `quota_rule = *:<rule>`), e.g. `storage=1M`. */
  quotaRule?: string;
  /** Extra lines for dovecot.conf, e.g. `lock_method = dotlock`. */
  extraConfig?: string;
}

function idOf(name: string, flag: '-u' | '-g'): number {
  const r = spawnSync('id', [flag, name], { encoding: 'utf8' });
  const n = Number(r.stdout.trim());
  if (r.status !== 0 || !Number.isInteger(n)) throw new Error(`cannot look up ${name}`);
  return n;
}

/** A fresh Maildir home with a minimal dovecot.conf, owned by the user doveadm runs as. */
export async function makeDovecotHome(opts: DovecotHomeOptions = {}): Promise<DovecotHome> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'tsmail-dovecot-'));
  await chmod(root, 0o755); // nobody must reach home/ below
  const home = path.join(root, 'home');
  const mail = path.join(home, 'mail');
  await mkdir(home, { mode: 0o700 });
  const uid = asRoot ? idOf('nobody', '-u') : process.getuid!();
  const gid = asRoot ? idOf('nobody', '-g') : process.getgid!();
  if (asRoot) await chown(home, uid, gid);
  const conf = path.join(root, 'dovecot.conf');
  const lines = [
    'ssl = no',
    'log_path = /dev/stderr',
    `mail_location = maildir:${mail}`,
    'namespace inbox {',
    '  inbox = yes',
    '  separator = .',
    '}',
  ];
  if (opts.quotaRule !== undefined) {
    lines.push('mail_plugins = quota', 'plugin {', '  quota = maildir:User quota', `  quota_rule = *:${opts.quotaRule}`, '}');
  }
  if (opts.extraConfig) lines.push(opts.extraConfig);
  await writeFile(conf, `${lines.join('\n')}\n`, { mode: 0o644 });
  return { root, home, mail, conf, uid, gid };
}

export interface DoveadmResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** The command line that runs doveadm with this home's config (as nobody when root). */
export function doveadmCommand(h: DovecotHome, args: readonly string[]): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', USER: asRoot ? 'nobody' : (os.userInfo().username), HOME: h.home };
  const cmd = [DOVEADM, '-c', h.conf, ...args];
  if (!asRoot) return { file: cmd[0]!, args: cmd.slice(1), env };
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return { file: '/usr/bin/setpriv', args: ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '/usr/bin/env', '-i', ...envArgs, ...cmd], env: {} };
}

/** Runs doveadm to completion; `stdin` is e.g. the message for `save`. */
export function doveadm(h: DovecotHome, args: readonly string[], stdin?: string | Uint8Array): Promise<DoveadmResult> {
  const { file, args: argv, env } = doveadmCommand(h, args);
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code }));
    // doveadm may exit before reading its input (most commands never do): no EPIPE for that.
    child.stdin.on('error', () => {});
    child.stdin.end(stdin ?? '');
  });
}

/** Like doveadm(), but throws with stderr unless it exits 0. */
export async function doveadmOk(h: DovecotHome, args: readonly string[], stdin?: string | Uint8Array): Promise<string> {
  const r = await doveadm(h, args, stdin);
  if (r.code !== 0) throw new Error(`doveadm ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Hands files the test wrote to the doveadm user, recursively. */
export async function giveToDovecot(h: DovecotHome, ...paths: string[]): Promise<void> {
  if (!asRoot) return;
  const r = spawnSync('chown', ['-R', `${h.uid}:${h.gid}`, ...paths]);
  if (r.status !== 0) throw new Error(`chown failed: ${r.stderr}`);
}

export interface FetchedMessage {
  uid: number;
  flags: string[];
  [field: string]: unknown;
}

/** Parses `doveadm fetch 'uid flags ...'` output: `key: value` lines, messages separated by a form feed line. */
export function parseFetch(out: string): FetchedMessage[] {
  return out
    .split(/\n\f\n/)
    .map((block) => block.trim())
    .filter((block) => block !== '')
    .map((block) => {
      const msg: Record<string, unknown> = {};
      for (const line of block.split('\n')) {
        const i = line.indexOf(': ');
        const key = i < 0 ? line.replace(/:$/, '') : line.slice(0, i);
        msg[key] = i < 0 ? '' : line.slice(i + 2);
      }
      const flags = String(msg.flags ?? '').split(' ').filter((f) => f !== '' && f !== '\\Recent');
      return { ...msg, uid: Number(msg.uid), flags } as FetchedMessage;
    });
}

export async function cleanup(h: DovecotHome): Promise<void> {
  await rm(h.root, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
}
