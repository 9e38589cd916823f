import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Real Dovecot IMAP as an oracle: `/usr/lib/dovecot/imap -c CONF` runs one pre-authenticated
 * session over stdin/stdout on a Maildir (no daemon, no login). Tests feed it a whole script of
 * tagged commands and compare its raw response bytes with ours on the same Maildir.
 *
 * Dovecot refuses to serve mail as root, so when the tests run as root it runs as `nobody`
 * (setpriv) and the Maildir is handed to nobody before each run. Its index files go to a
 * private directory (INDEX=), so tsmail's store and Dovecot only share the Maildir itself
 * (dovecot-uidlist included: UIDs stay the same on both sides).
 */
export const DOVECOT_IMAP = '/usr/lib/dovecot/imap';

const asRoot = process.getuid?.() === 0;

function runnable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Why the Dovecot oracle cannot run here (printed), or undefined when it can. CI must have it. */
export function dovecotImapMissing(): string | undefined {
  let reason: string | undefined;
  if (!runnable(DOVECOT_IMAP)) reason = `${DOVECOT_IMAP} not found (apt-get install dovecot-imapd)`;
  else if (asRoot && !runnable('/usr/bin/setpriv')) reason = 'running as root but /usr/bin/setpriv is missing';
  if (reason === undefined) return undefined;
  if (process.env.CI === 'true') throw new Error(`Dovecot imap is required in CI: ${reason}`);
  console.warn(`[skipped] Dovecot IMAP oracle tests: ${reason}`);
  return reason;
}

export interface DovecotImap {
  /** Runs one session with these command lines (tags included, CRLF added) and LOGOUT; all output. */
  run(commands: readonly (string | Buffer)[], opts?: { awaitLast?: boolean }): Promise<Buffer>;
  cleanup(): Promise<void>;
}

export interface DovecotImapOptions {
  /** Extra dovecot.conf lines. */
  extraConfig?: string[];
}

function idOf(name: string, flag: '-u' | '-g'): number {
  const r = spawnSync('id', [flag, name], { encoding: 'utf8' });
  const n = Number(r.stdout.trim());
  if (r.status !== 0 || !Number.isInteger(n)) throw new Error(`cannot look up ${name}`);
  return n;
}

/**
 * A Dovecot IMAP oracle for the Maildir at `maildir` (its root is INBOX, `.` separator). As root,
 * the directories above `maildir` must be searchable by nobody (mkdtemp makes them 0700).
 */
export async function dovecotImap(maildir: string, opts: DovecotImapOptions = {}): Promise<DovecotImap> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'tsmail-dovecot-imap-'));
  await chmod(root, 0o755);
  const conf = path.join(root, 'dovecot.conf');
  const index = path.join(root, 'index');
  const lines = [
    'ssl = no',
    'log_path = /dev/null',
    `mail_location = maildir:${maildir}:INDEX=${index}`,
    'namespace inbox {',
    '  inbox = yes',
    '  separator = .',
    '}',
    ...(opts.extraConfig ?? []),
  ];
  await writeFile(conf, `${lines.join('\n')}\n`, { mode: 0o644 });
  const user = asRoot ? 'nobody' : os.userInfo().username;
  const owner = asRoot ? `${idOf('nobody', '-u')}:${idOf('nobody', '-g')}` : '';

  /**
   * `awaitLast`: Dovecot runs pipelined FETCHes side by side, and a LOGOUT piped behind them can
   * end the session before the last of them answered; with this, LOGOUT is sent only once the
   * last command's tagged reply came (so the last command must be one that gets a reply).
   */
  async function run(commands: readonly (string | Buffer)[], opts: { awaitLast?: boolean } = {}): Promise<Buffer> {
    if (asRoot) {
      // The test (root) may have written files since the last run.
      // Runs may overlap (tests pipeline several): a lock file another Dovecot removes while
      // chown walks the tree is no error, so only failures other than a vanished file count.
      const r = spawnSync('chown', ['-R', owner, maildir, root], { encoding: 'utf8' });
      const real = (r.stderr ?? '').split('\n').filter((l) => l && !/No such file or directory/.test(l));
      if (r.status !== 0 && real.length) throw new Error(`chown failed: ${real.join('\n')}`);
    }
    // Same time zone as the test process: INTERNALDATE is written in local time.
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', USER: user, HOME: root, ...(process.env.TZ ? { TZ: process.env.TZ } : {}) };
    const cmd = [DOVECOT_IMAP, '-c', conf];
    const argv = asRoot
      ? ['/usr/bin/setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '/usr/bin/env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...cmd]
      : cmd;
    const input = Buffer.concat(commands.map((c) => Buffer.concat([Buffer.from(c), Buffer.from('\r\n')])));
    const lastTag = opts.awaitLast && commands.length ? /^(\S+) /.exec(Buffer.from(commands[commands.length - 1]!).toString('latin1'))?.[1] : undefined;
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { env: asRoot ? {} : env, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let err = '';
      let seen = '';
      let loggedOut = false;
      const logout = () => {
        if (loggedOut) return;
        loggedOut = true;
        child.stdin.end('ZZLOGOUT LOGOUT\r\n');
      };
      child.stdout.on('data', (d: Buffer) => {
        out.push(d);
        if (!lastTag || loggedOut) return;
        seen = (seen + d.toString('latin1')).slice(-4096);
        if (seen.includes(`\r\n${lastTag} `) || seen.startsWith(`${lastTag} `)) logout();
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code !== 0) reject(new Error(`dovecot imap exited ${code}: ${err}`));
        else resolve(Buffer.concat(out));
      });
      // If Dovecot exits early, its exit code and stderr say why; a broken pipe adds nothing.
      child.stdin.on('error', () => {});
      child.stdin.write(input);
      if (!lastTag) logout();
    });
  }

  return { run, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Splits output into complete responses (a line with the literals it announces), in order. */
export function responses(output: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < output.length) {
    const lineStart = pos;
    for (;;) {
      const eol = output.indexOf('\r\n', pos);
      if (eol < 0) {
        pos = output.length;
        break;
      }
      const m = /\{(\d+)\}$/.exec(output.subarray(Math.max(pos, eol - 24), eol).toString('latin1'));
      if (m) {
        pos = eol + 2 + Number(m[1]);
        continue;
      }
      pos = eol + 2;
      break;
    }
    out.push(output.subarray(lineStart, pos));
  }
  return out;
}

/**
 * The `* <seq> FETCH` responses of a session, by sequence number, in order. Dovecot runs
 * pipelined FETCHes concurrently, so responses are matched by message, not by tag.
 */
export function fetchResponses(output: Buffer): Map<number, Buffer[]> {
  const bySeq = new Map<number, Buffer[]>();
  for (const r of responses(output)) {
    const m = /^\* (\d+) FETCH /.exec(r.subarray(0, 32).toString('latin1'));
    if (!m) continue;
    const seq = Number(m[1]);
    bySeq.set(seq, [...(bySeq.get(seq) ?? []), r]);
  }
  return bySeq;
}

/** Tagged replies by tag (`a OK ...`), for checking that every command succeeded. */
export function taggedReplies(output: Buffer): Map<string, string> {
  const tagged = new Map<string, string>();
  for (const r of responses(output)) {
    const line = r.toString('latin1');
    if (line.startsWith('* ') || line.startsWith('+ ')) continue;
    tagged.set(line.slice(0, line.indexOf(' ')), line.trimEnd());
  }
  return tagged;
}
