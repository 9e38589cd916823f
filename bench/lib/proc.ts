/**
 * CPU time of process trees from /proc (Linux), and small helpers around child processes.
 *
 * The CPU of a tree is Σ over its live processes of utime+stime+cutime+cstime: a child that has
 * exited and was reaped by its parent in the tree moves its time into the parent's c-times, so the
 * difference of two readings is what the whole tree used in between, even when workers come and
 * go (Postfix smtpd/lmtp, Dovecot lmtp). Threads are included (libuv's fsyncs count as system time).
 */
import { spawn } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

const TICKS_PER_SEC = 100; // sysconf(_SC_CLK_TCK) on Linux

interface Stat {
  pid: number;
  ppid: number;
  /** utime+stime+cutime+cstime, clock ticks. */
  ticks: number;
}

async function readStat(pid: number): Promise<Stat | null> {
  const file = `/proc/${pid}/stat`;
  const text = await readFile(file, 'utf8').catch(() => null);
  if (!text) return null;
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ")".
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const n = (i: number) => Number(f[i] ?? 0);
  return { pid, ppid: n(1), ticks: n(11) + n(12) + n(13) + n(14) };
}

async function allStats(): Promise<Stat[]> {
  const pids = (await readdir('/proc').catch(() => [])).filter((d) => /^\d+$/.test(d)).map(Number);
  return (await Promise.all(pids.map((p) => readStat(p)))).filter((s): s is Stat => s !== null);
}

/** The pids of `root` and all its descendants alive now. */
export async function processTree(root: number): Promise<number[]> {
  const stats = await allStats();
  const children = new Map<number, number[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
  if (!stats.some((s) => s.pid === root)) return [];
  const out: number[] = [];
  const todo = [root];
  while (todo.length) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

/** CPU ms used so far by the trees under `roots` (see the top of this file). */
export async function treeCpuMs(roots: readonly number[]): Promise<number> {
  const stats = await allStats();
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const children = new Map<number, number[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
  let ticks = 0;
  const seen = new Set<number>();
  const todo = roots.filter((r) => byPid.has(r));
  while (todo.length) {
    const p = todo.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    ticks += byPid.get(p)?.ticks ?? 0;
    todo.push(...(children.get(p) ?? []));
  }
  return (ticks * 1000) / TICKS_PER_SEC;
}

/**
 * One thread's time so far from /proc/<pid>/task/<tid>/schedstat (`tid` = `pid` is a process's
 * main thread: Node's event loop): ms on a CPU, and ms runnable but waiting for one.
 */
export async function threadSched(pid: number, tid = pid): Promise<{ cpuMs: number; waitMs: number }> {
  const text = await readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').catch(() => '');
  const [cpu, wait] = text.trim().split(' ').map(Number);
  return { cpuMs: (cpu ?? NaN) / 1e6, waitMs: (wait ?? NaN) / 1e6 };
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until none of `pids` is alive (bounded); returns those still alive. */
export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = pids.filter(alive);
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(50);
  }
}

/** Runs a command to completion; resolves with its exit code and output (never rejects). */
export function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : process.env });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (out += c.toString()));
    p.on('error', (err) => resolve({ code: null, out: out + err.message }));
    p.on('close', (code) => resolve({ code, out }));
  });
}
