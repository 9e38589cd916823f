/**
 * A private Dovecot for the benchmarks: `dovecot -F -c <tmp conf>` with base_dir/state_dir in the
 * temp tree, `protocols = lmtp`, one LMTP inet listener on 127.0.0.1:<free port>, userdb
 * passwd-file on the bench's users file with `uid=nobody gid=nogroup`, Maildirs in
 * `<dir>/<name>/vmail/%d/%n`; every other setting at Dovecot's default (mail_fsync = optimized,
 * index files on, hard-linked copies for several recipients). Needs root (it is run as root by
 * the benches) and Debian's dovecot-core + dovecot-lmtpd.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, waitForListener } from './net.js';
import { run } from './proc.js';

export const DOVECOT = '/usr/sbin/dovecot';
export const DOVECOT_LMTP = '/usr/lib/dovecot/lmtp';
export const STRACE = ['/usr/bin/strace', '/bin/strace'].find((p) => existsSync(p));

/** Why Dovecot cannot be used here, or null if it can. */
export function dovecotMissing(imap = false): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  if (imap && !existsSync('/usr/lib/dovecot/imap-login')) return '/usr/lib/dovecot/imap-login missing (apt-get install dovecot-imapd)';
  if (!existsSync(DOVECOT) || !existsSync(DOVECOT_LMTP)) return `${DOVECOT} or ${DOVECOT_LMTP} missing (apt-get install dovecot-core dovecot-lmtpd)`;
  return null;
}

export async function dovecotVersion(): Promise<string> {
  const r = await run(DOVECOT, ['--version']);
  return r.code === 0 ? r.out.trim() : '?';
}

/** IMAP listeners for a bench Dovecot: 143-style (plain login allowed, as the bench's tsmail) and 993-style. */
export interface DovecotImapOptions {
  /** PEM file with the key and then the certificate (bench/lib/cert.ts). */
  certFile: string;
  /** Extra lines for the config (e.g. limits for the many-connections bench). */
  extra?: string;
}

export interface DovecotInstance {
  /** The LMTP port. */
  port: number;
  /** IMAP ports when started with `imap` options. */
  imapPort?: number;
  imapsPort?: number;
  /** Where the Maildirs are: `<vmail>/<domain>/<local>`. */
  vmail: string;
  /** The master's pid (for CPU accounting), or null before it wrote its pid file. */
  masterPid(): Promise<number | null>;
  /** fsync/fdatasync calls strace has logged so far (when run under strace), by what was synced. */
  fsyncsSoFar(): Promise<string[]>;
  stop(): Promise<void>;
  log(): Promise<string>;
  /** Error/Fatal/Panic/Warning lines of the log (the stop's "Killed with signal 15" left out). */
  problems(): Promise<string[]>;
}

export async function startDovecot(dir: string, name: string, usersFile: string, traced = false, imap?: DovecotImapOptions): Promise<DovecotInstance> {
  const root = path.join(dir, name);
  const vmail = path.join(root, 'vmail');
  await mkdir(path.join(root, 'state'), { recursive: true });
  await mkdir(vmail, { recursive: true });
  await chown(vmail, 65534, 65534); // nobody:nogroup, the userdb uid below
  const port = await freePort();
  const imapPort = imap ? await freePort() : undefined;
  const imapsPort = imap ? await freePort() : undefined;
  const conf = path.join(root, 'dovecot.conf');
  const logFile = path.join(root, 'dovecot.log');
  const straceOut = path.join(root, 'strace.out');
  await writeFile(
    conf,
    `# bench/lib/dovecot.ts: a private LMTP-only Dovecot, defaults otherwise
base_dir = ${root}/run
state_dir = ${root}/state
instance_name = tsmail-bench-${name}
protocols = lmtp${imap ? ' imap' : ''}
listen = 127.0.0.1
${imap ? `ssl = yes\nssl_cert = <${imap.certFile}\nssl_key = <${imap.certFile}\ndisable_plaintext_auth = no` : 'ssl = no'}
log_path = ${logFile}
mail_location = maildir:${vmail}/%d/%n
passdb {
  driver = passwd-file
  args = ${usersFile}
}
userdb {
  driver = passwd-file
  args = ${usersFile}
  default_fields = uid=nobody gid=nogroup home=${vmail}/%d/%n
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${port}
  }
}
${imap ? `service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${imapPort}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${imapsPort}
    ssl = yes
  }
}
${imap.extra ?? ''}
` : ''}`,
  );
  const argv = [DOVECOT, '-F', '-c', conf];
  if (traced && !STRACE) throw new Error('strace is not installed');
  const child: ChildProcess = traced
    ? spawn(STRACE!, ['-f', '--seccomp-bpf', '-qq', '-y', '-e', 'trace=fsync,fdatasync', '-o', straceOut, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const readLog = async () => stderr + (await readFile(logFile, 'utf8').catch(() => ''));

  const masterPid = async (): Promise<number | null> => {
    const text = await readFile(path.join(root, 'run', 'master.pid'), 'utf8').catch(() => '');
    const pid = Number(text.trim());
    return Number.isInteger(pid) && pid > 1 ? pid : null;
  };
  const stop = async () => {
    if (exited) return;
    // SIGTERM the master (by the pid it wrote; under strace our child is strace itself), which
    // stops its own children; strace exits once they are gone.
    const pid = await masterPid();
    const target = pid ?? child.pid;
    if (target) {
      try {
        process.kill(target, 'SIGTERM');
      } catch {}
    }
    await Promise.race([exit, sleep(10_000)]);
    if (!exited) {
      for (const p of [pid, child.pid]) {
        if (p) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {}
        }
      }
      await Promise.race([exit, sleep(5_000)]);
    }
  };

  try {
    await waitForListener(port, 'dovecot', () => exited, 15_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}:\n${await readLog()}`);
  }
  if (imapPort) await waitForListener(imapPort, 'dovecot imap', () => exited, 15_000);
  return {
    port,
    ...(imapPort ? { imapPort, imapsPort } : {}),
    vmail,
    masterPid,
    stop,
    log: readLog,
    async problems() {
      return (await readLog()).split('\n').filter((l) => /\b(Error|Fatal|Panic|Warning):/.test(l) && !/Killed with signal 15/.test(l));
    },
    async fsyncsSoFar() {
      const text = await readFile(straceOut, 'utf8').catch(() => '');
      // `<pid> fsync(7</path/of/fd>) = 0`; "<... resumed>" halves do not match.
      return [...text.matchAll(/\b(fsync|fdatasync)\(\d+<([^>]*)>/g)].map((m) => `${m[1]} ${syncTarget(m[2]!)}`);
    },
  };
}

/** What an fsync was for, from the fd path strace printed: a folder's dir, a message, an index file. */
function syncTarget(p: string): string {
  if (/\/(new|cur|tmp)$/.test(p)) return `dir ${path.basename(p)}/`;
  if (/\/tmp\/[^/]+$/.test(p)) return 'message in tmp/';
  if (/\/(new|cur)\/[^/]+$/.test(p)) return `message in ${path.basename(path.dirname(p))}/`;
  return path.basename(p).replace(/\.[0-9a-f]{6,}$/i, '');
}
