/**
 * Local delivery throughput: deliveries/s of 4 KB messages to 100 users, with fsync on.
 *
 *   npx tsx bench/delivery.ts [base-dir] [messages-per-row]
 *
 * base-dir (default os.tmpdir()) is where the temporary tree goes, so the bench can run on the
 * disk that holds the mail; messages-per-row defaults to 5000 (an all-digits argument is the
 * count, anything else the directory). Everything is removed afterwards, Dovecot stopped.
 *
 * tsmail: LocalDelivery in-process (begin → addRecipient → commit, durable: tmp → fsync → hard
 * link → fsync new/), over a passwd-file directory of 100 users `user000@example.test`… and
 * `maildir:<tmp>/tsmail-vmail/%d/%n`. Latency is per delivery: addRecipient(s) + commit.
 *
 * Dovecot (when /usr/sbin/dovecot and /usr/lib/dovecot/lmtp exist): a private `dovecot -F`
 * master on a temp base_dir with an LMTP inet listener on 127.0.0.1, userdb passwd-file on the
 * same users file (uid nobody), default settings otherwise (mail_fsync = optimized, index files
 * on, hard-linked copies for several recipients). The bench talks LMTP to it over persistent
 * connections (one per in-flight delivery, opened before timing), pipelining MAIL/RCPT/DATA as
 * Postfix's lmtp client does. Latency is MAIL FROM → last per-recipient reply after the dot.
 * So the Dovecot rows include LMTP protocol and loopback overhead that the tsmail rows do not
 * (tsmail's LMTP/SMTP listeners come in a later issue).
 *
 * Same seeded recipient sequence for both. Rows: 1, 10 and 50 deliveries in flight, each message
 * to one random user; then 10 in flight with 10 distinct random users per message (one shared
 * hard-linked write; messages-per-row / 5 messages). Both sides get one warm-up message per user
 * first (Maildirs created, untimed). Rows alternate tsmail / Dovecot so disk state drifts alike;
 * mailboxes keep growing across rows (~250 messages per user at the end).
 * fsyncs/msg: tsmail counts FileHandle.sync()/datasync() calls in-process during the timed rows;
 * Dovecot's come from a separate, shorter pass under `strace -f --seccomp-bpf -y` (not timed),
 * broken down by what was synced, when strace is installed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../src/core/logger.js';
import { LocalDelivery } from '../src/delivery/local-delivery.js';
import { Directory } from '../src/directory/directory.js';
import { PasswdFileBackend } from '../src/directory/passwd-file/backend.js';
import { PasswordHasher } from '../src/directory/schemes/index.js';
import { MaildirQuota } from '../src/mailstore/maildir/quota.js';
import { prng } from '../test/helpers/prng.js';

const ARGS = process.argv.slice(2);
const MESSAGES = Number(ARGS.find((a) => /^\d+$/.test(a)) ?? 5000);
const BASE = path.resolve(ARGS.find((a) => !/^\d+$/.test(a)) ?? os.tmpdir());
const USERS = 100;
const DOMAIN = 'example.test';
const SENDER = 'sender@remote.example';
const MESSAGE_SIZE = 4096;
/** [in flight, recipients per message, messages]. */
const ROWS: [number, number, number][] = [
  [1, 1, MESSAGES],
  [10, 1, MESSAGES],
  [50, 1, MESSAGES],
  [10, 10, Math.max(1, Math.round(MESSAGES / 5))],
];
const DOVECOT = '/usr/sbin/dovecot';
const DOVECOT_LMTP = '/usr/lib/dovecot/lmtp';
const STRACE = ['/usr/bin/strace', '/bin/strace'].find((p) => existsSync(p));
const REPLY_TIMEOUT_MS = 30_000;

if (!Number.isInteger(MESSAGES) || MESSAGES < 1 || MESSAGES > 1_000_000) throw new Error(`bad message count ${MESSAGES}`);

const userName = (i: number) => `user${String(i).padStart(3, '0')}@${DOMAIN}`;

// ---- workload --------------------------------------------------------------------------------

function recipientPlan(seed: number, messages: number, perMessage: number): string[][] {
  const rand = prng(seed); // the same recipient sequence for tsmail and Dovecot
  const plan: string[][] = [];
  for (let m = 0; m < messages; m++) {
    const pool = Array.from({ length: USERS }, (_, i) => i);
    const pick: string[] = [];
    for (let k = 0; k < perMessage; k++) {
      const j = k + Math.floor(rand() * (USERS - k));
      [pool[k], pool[j]] = [pool[j]!, pool[k]!];
      pick.push(userName(pool[k]!));
    }
    plan.push(pick);
  }
  return plan;
}

/** A 4096-byte CRLF message (before the Return-Path/Delivered-To/Received the server adds). */
function message(n: number): Buffer {
  const head =
    `From: Bench Sender <${SENDER}>\r\nTo: undisclosed-recipients:;\r\nSubject: delivery bench\r\n` +
    `Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${String(n).padStart(10, '0')}.bench@remote.example>\r\n` +
    `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n`;
  const line = 'The quick brown fox jumps over the lazy dog, again and again and again. 0123\r\n';
  let body = '';
  while (head.length + body.length + line.length <= MESSAGE_SIZE) body += line;
  const rest = MESSAGE_SIZE - head.length - body.length;
  if (rest > 0) body += rest >= 3 ? 'x'.repeat(rest - 2) + '\r\n' : 'xx'.slice(0, rest);
  const buf = Buffer.from(head + body, 'latin1');
  if (buf.length !== MESSAGE_SIZE) throw new Error(`message is ${buf.length} bytes`);
  return buf;
}

// ---- measurement -----------------------------------------------------------------------------

interface Deliverer {
  name: string;
  /** Delivers one message; `slot` is the worker index (0 ≤ slot < in flight). */
  deliver(slot: number, rcpts: string[], body: Buffer): Promise<void>;
}

interface RowResult {
  msgsPerSec: number;
  p50: number;
  p99: number;
  max: number;
  fsyncs: number | null;
}

let fsyncCalls = 0;

async function runRow(d: Deliverer, inFlight: number, plan: string[][], firstId: number): Promise<RowResult> {
  const lat = new Float64Array(plan.length);
  let next = 0;
  const fsyncsBefore = fsyncCalls;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async (_, slot) => {
      for (;;) {
        const i = next++;
        if (i >= plan.length) return;
        const body = message(firstId + i);
        const t0 = performance.now();
        await d.deliver(slot, plan[i]!, body);
        lat[i] = performance.now() - t0;
      }
    }),
  );
  const elapsed = performance.now() - started;
  lat.sort();
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]!;
  return {
    msgsPerSec: (plan.length * 1000) / elapsed,
    p50: pct(50),
    p99: pct(99),
    max: lat[lat.length - 1]!,
    fsyncs: d.name === 'tsmail' ? (fsyncCalls - fsyncsBefore) / plan.length : null,
  };
}

/** Counts every FileHandle.sync()/datasync() in this process (file and directory fsyncs). */
async function countFsyncs(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  const proto = Object.getPrototypeOf(fh) as { sync: () => Promise<void>; datasync: () => Promise<void> };
  await fh.close();
  for (const key of ['sync', 'datasync'] as const) {
    const orig = proto[key];
    proto[key] = function (this: unknown) {
      fsyncCalls++;
      return orig.call(this);
    };
  }
}

// ---- tsmail ----------------------------------------------------------------------------------

async function tsmailDeliverer(dir: string, usersFile: string): Promise<Deliverer & { close(): Promise<void> }> {
  const backend = new PasswdFileBackend({
    passwdFile: usersFile,
    aliasesFile: path.join(dir, 'aliases'),
    domainsFile: path.join(dir, 'domains'),
    configDomains: [DOMAIN],
  });
  const hasher = new PasswordHasher({ defaultScheme: 'SHA512-CRYPT', workers: 0 });
  const directory = new Directory(backend, hasher, { mailLocation: `maildir:${dir}/tsmail-vmail/%d/%n`, recipientDelimiter: '+' }, silentLogger);
  const host = os.hostname().replace(/[/:]/g, '_');
  let counter = 0;
  const uniqueName = () => {
    const now = Date.now();
    const usecs = String((now % 1000) * 1000 + Math.floor((performance.now() % 1) * 1000)).padStart(6, '0');
    return `${Math.floor(now / 1000)}.M${usecs}P${process.pid}Q${++counter}.${host}`;
  };
  // The bench users have no quota rule, so MaildirQuota does no I/O (as Dovecot without the quota plugin).
  const delivery = new LocalDelivery({ directory, quotaFor: (root, limits) => new MaildirQuota(root, limits), uniqueName, log: silentLogger });
  return {
    name: 'tsmail',
    async deliver(_slot, rcpts, body) {
      const tx = delivery.begin({ sender: SENDER });
      for (const r of rcpts) {
        const s = await tx.addRecipient(r);
        if (s !== null) throw new Error(`tsmail RCPT ${r}: ${JSON.stringify(s)}`);
      }
      const results = await tx.commit(body);
      const bad = results.find((s) => s.kind !== 'delivered');
      if (bad || results.length !== rcpts.length) throw new Error(`tsmail commit: ${JSON.stringify(results)}`);
    },
    async close() {
      await hasher.close();
      await directory.close();
    },
  };
}

// ---- minimal LMTP client (RFC 2033) ----------------------------------------------------------

interface Reply {
  code: number;
  text: string;
}

class LmtpClient {
  private buf = '';
  private lines: string[] = [];
  private readonly ready: Reply[] = [];
  private readonly waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private failure: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('LMTP connection closed')));
  }

  static async connect(port: number): Promise<LmtpClient> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
    const c = new LmtpClient(socket);
    await c.expect(220);
    c.socket.write('LHLO bench.localhost\r\n');
    await c.expect(250);
    return c;
  }

  /** Pipelined MAIL, RCPT…, DATA; then the dot-stuffed body; one final reply per recipient. */
  async send(sender: string, rcpts: string[], body: Buffer): Promise<void> {
    this.socket.write(`MAIL FROM:<${sender}>\r\n` + rcpts.map((r) => `RCPT TO:<${r}>\r\n`).join('') + 'DATA\r\n');
    await this.expect(250);
    for (let i = 0; i < rcpts.length; i++) await this.expect(250);
    await this.expect(354);
    this.socket.write(Buffer.concat([dotStuff(body), Buffer.from('.\r\n')]));
    for (let i = 0; i < rcpts.length; i++) await this.expect(250);
  }

  async quit(): Promise<void> {
    if (this.failure) return;
    this.socket.write('QUIT\r\n');
    await this.expect(221).catch(() => {});
    this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private async expect(code: number): Promise<void> {
    const r = await this.next();
    if (r.code !== code) throw new Error(`LMTP: expected ${code}, got ${r.text}`);
  }

  private next(): Promise<Reply> {
    const r = this.ready.shift();
    if (r) return Promise.resolve(r);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error('LMTP reply timeout')), REPLY_TIMEOUT_MS);
      this.waiting.push({
        resolve: (x) => (clearTimeout(timer), resolve(x)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
    });
  }

  private onData(chunk: Buffer): void {
    this.buf += chunk.toString('latin1');
    for (let i = this.buf.indexOf('\r\n'); i >= 0; i = this.buf.indexOf('\r\n')) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      this.lines.push(line);
      if (line.length >= 3 && line[3] !== '-') {
        const reply = { code: Number(line.slice(0, 3)), text: this.lines.join(' | ') };
        this.lines = [];
        const w = this.waiting.shift();
        if (w) w.resolve(reply);
        else this.ready.push(reply);
      }
    }
  }

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    for (const w of this.waiting.splice(0)) w.reject(err);
    this.socket.destroy();
  }
}

function dotStuff(body: Buffer): Buffer {
  const s = body.toString('latin1').replace(/(^|\r\n)\./g, '$1..');
  return Buffer.from(s.endsWith('\r\n') ? s : s + '\r\n', 'latin1');
}

// ---- Dovecot ---------------------------------------------------------------------------------

interface DovecotInstance {
  port: number;
  /** fsync/fdatasync calls strace has logged so far (when run under strace), by what was synced. */
  fsyncsSoFar(): Promise<string[]>;
  stop(): Promise<void>;
  log(): Promise<string>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function startDovecot(dir: string, name: string, usersFile: string, traced: boolean): Promise<DovecotInstance> {
  const root = path.join(dir, name);
  const vmail = path.join(root, 'vmail');
  await mkdir(path.join(root, 'state'), { recursive: true });
  await mkdir(vmail, { recursive: true });
  await chown(vmail, 65534, 65534); // nobody:nogroup, the userdb uid below
  const port = await freePort();
  const conf = path.join(root, 'dovecot.conf');
  const logFile = path.join(root, 'dovecot.log');
  const straceOut = path.join(root, 'strace.out');
  await writeFile(
    conf,
    `# bench/delivery.ts: a private LMTP-only Dovecot, defaults otherwise
base_dir = ${root}/run
state_dir = ${root}/state
instance_name = tsmail-bench-${name}
protocols = lmtp
listen = 127.0.0.1
ssl = no
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
`,
  );
  const argv = [DOVECOT, '-F', '-c', conf];
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

  // Wait (bounded) until the LMTP listener accepts.
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) throw new Error(`dovecot exited at start:\n${await readLog()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`dovecot did not listen on 127.0.0.1:${port}:\n${await readLog()}`);
    }
    await sleep(100);
  }
  return {
    port,
    stop,
    log: readLog,
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

async function dovecotDeliverer(port: number, inFlight: number): Promise<Deliverer & { close(): Promise<void> }> {
  const conns: LmtpClient[] = [];
  try {
    for (let i = 0; i < inFlight; i++) conns.push(await LmtpClient.connect(port));
  } catch (err) {
    for (const c of conns) c.destroy();
    throw err;
  }
  return {
    name: 'dovecot',
    deliver: (slot, rcpts, body) => conns[slot]!.send(SENDER, rcpts, body),
    async close() {
      await Promise.all(conns.map((c) => c.quit()));
    },
  };
}

// ---- main ------------------------------------------------------------------------------------

async function countNew(vmail: string): Promise<number> {
  let n = 0;
  for (let i = 0; i < USERS; i++) {
    const local = userName(i).split('@')[0]!;
    n += (await readdir(path.join(vmail, DOMAIN, local, 'new')).catch(() => [])).length;
  }
  return n;
}

function fmtRow(cells: string[]): string {
  const widths = [9, 10, 8, 10, 12, 9, 9, 9, 11];
  return cells.map((c, i) => c.padEnd(widths[i] ?? 10)).join(' ').trimEnd();
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(BASE, 'tsmail-bench-delivery-'));
  await chmod(dir, 0o755); // Dovecot's auth (user dovecot) and lmtp (as nobody) must get in
  const cleanups: (() => Promise<void>)[] = [async () => rm(dir, { recursive: true, force: true })];
  let cleaning: Promise<void> | null = null;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const c of cleanups.reverse()) await c().catch((e) => console.error('cleanup:', (e as Error).message));
    })());
  const onSignal = (sig: NodeJS.Signals) => {
    console.error(`\n${sig}: cleaning up`);
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const usersFile = path.join(dir, 'users');
    await writeFile(usersFile, Array.from({ length: USERS }, (_, i) => `${userName(i)}:{PLAIN}x:::::`).join('\n') + '\n', { mode: 0o644 });
    await countFsyncs(dir);

    const haveDovecot = existsSync(DOVECOT) && existsSync(DOVECOT_LMTP) && process.getuid?.() === 0;
    const cpu = os.cpus()[0]?.model ?? '?';
    console.log(`node ${process.version}, ${os.availableParallelism()} CPUs (${cpu}), UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`);
    console.log(`temp tree ${dir}`);
    console.log(`${MESSAGES} messages per row (10-recipient row: ${ROWS[3]![2]}), ${MESSAGE_SIZE} bytes each, ${USERS} users, random recipients (same seeded sequence for both)`);
    if (!haveDovecot) {
      console.log(`Dovecot rows skipped: ${process.getuid?.() !== 0 ? 'not root' : `${DOVECOT} or ${DOVECOT_LMTP} missing (apt-get install dovecot-lmtpd)`}`);
    } else {
      const v = await new Promise<string>((resolve) => {
        const p = spawn(DOVECOT, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
        let out = '';
        p.stdout.on('data', (c: Buffer) => (out += c.toString()));
        p.on('close', () => resolve(out.trim()));
        p.on('error', () => resolve('?'));
      });
      console.log(`Dovecot ${v}: private master, LMTP on 127.0.0.1, userdb passwd-file (uid nobody), mail_fsync = optimized (default)`);
    }
    console.log('tsmail = LocalDelivery in-process (no LMTP/SMTP protocol: those listeners come in a later issue);');
    console.log('dovecot = LMTP over loopback, persistent pipelining connections: includes protocol overhead tsmail does not pay.');
    console.log('latency = per delivery (tsmail: addRecipient+commit; dovecot: MAIL FROM to the last reply after DATA)\n');

    const ts = await tsmailDeliverer(dir, usersFile);
    cleanups.push(() => ts.close());
    let dc: DovecotInstance | null = null;
    if (haveDovecot) {
      dc = await startDovecot(dir, 'dovecot', usersFile, false);
      cleanups.push(() => dc!.stop());
    }

    // Warm-up (not timed): create every Maildir (and Dovecot's indexes), JIT, auth processes.
    const warm = Array.from({ length: USERS }, (_, i) => [userName(i)]);
    let id = 0;
    await runRow(ts, 10, warm, id);
    if (dc) {
      const d = await dovecotDeliverer(dc.port, 10);
      await runRow(d, 10, warm, id);
      await d.close();
    }
    id += USERS;
    let expectedPerServer = USERS;

    console.log(fmtRow(['server', 'in flight', 'rcpts', 'messages', 'msgs/s', 'rcpts/s', 'p50 ms', 'p99 ms', 'max ms', 'fsyncs/msg']));
    for (const [r, [inFlight, perMessage, messages]] of ROWS.entries()) {
      const plan = recipientPlan(1000 + r, messages, perMessage);
      expectedPerServer += messages * perMessage;
      const targets: (Deliverer & { close?(): Promise<void> })[] = [ts];
      if (dc) targets.push(await dovecotDeliverer(dc.port, inFlight));
      for (const d of targets) {
        const res = await runRow(d, inFlight, plan, id);
        console.log(
          fmtRow([
            d.name,
            String(inFlight),
            String(perMessage),
            String(messages),
            res.msgsPerSec.toFixed(0),
            (res.msgsPerSec * perMessage).toFixed(0),
            res.p50.toFixed(2),
            res.p99.toFixed(2),
            res.max.toFixed(2),
            res.fsyncs === null ? (dc && STRACE ? 'below' : '-') : res.fsyncs.toFixed(2),
          ]),
        );
        if (d !== ts) await d.close?.();
      }
      id += messages;
    }
    if (dc) {
      await dc.stop();
      const problems = (await dc.log()).split('\n').filter((l) => /\b(Error|Fatal|Panic|Warning):/.test(l) && !/Killed with signal 15/.test(l));
      console.log(`dovecot log: ${problems.length} error/warning lines${problems.length ? ':\n  ' + problems.slice(0, 5).join('\n  ') : ''}`);
    }

    // Sanity: every delivery is a file in some new/.
    const tsFiles = await countNew(path.join(dir, 'tsmail-vmail'));
    let check = `check: tsmail ${tsFiles} files in new/ (expected ${expectedPerServer})`;
    if (dc) check += `, dovecot ${await countNew(path.join(dir, 'dovecot', 'vmail'))} (expected ${expectedPerServer})`;
    console.log(check);

    // Dovecot's fsyncs per message, from a separate untimed pass under strace.
    if (haveDovecot && STRACE) {
      const traced = await startDovecot(dir, 'dovecot-strace', usersFile, true);
      cleanups.push(() => traced.stop());
      const d = await dovecotDeliverer(traced.port, 10);
      await runRow(d, 10, warm, id);
      const passes: [number, number][] = [
        [1, Math.min(500, MESSAGES)],
        [10, Math.min(100, MESSAGES)],
      ];
      const counts: string[] = [];
      for (const [perMessage, messages] of passes) {
        await sleep(300);
        const before = await traced.fsyncsSoFar();
        await runRow(d, 10, recipientPlan(2000 + perMessage, messages, perMessage), id);
        id += messages;
        await sleep(300);
        const calls = (await traced.fsyncsSoFar()).slice(before.length);
        const by = new Map<string, number>();
        for (const c of calls) by.set(c, (by.get(c) ?? 0) + 1);
        const detail = [...by].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${(v / messages).toFixed(2)} ${k}`).join(', ');
        counts.push(`  ${perMessage} rcpt/msg (${messages} msgs): ${(calls.length / messages).toFixed(2)} per msg = ${detail}`);
      }
      await d.close();
      await traced.stop();
      console.log(`dovecot fsyncs under strace -f (separate untimed pass, 10 in flight, maildirs warm):\n${counts.join('\n')}`);
    }
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

await main();
