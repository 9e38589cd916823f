/**
 * Memory of processes from /proc (Linux), for bench/footprint.ts. All figures in MiB.
 *
 *  - RSS: resident pages, shared ones counted in full.
 *  - PSS: each resident page divided by the number of processes mapping it (smaps_rollup). Node
 *    worker threads are threads, so they are in their process's figures.
 *  - USS: private pages only (Private_Clean + Private_Dirty): what the process would give back
 *    by exiting.
 *  - anon: anonymous memory (heaps, stacks, malloc): what the program itself allocated.
 *  - PSS alone: PSS with the pages of the Node binary counted in full, i.e. the PSS tsmail would
 *    have on a mail server where it is the only Node process. Plain PSS depends on how many other
 *    `node` processes happen to share the binary's ~35 MB of code on the measuring machine.
 *  - for a group of processes (Postfix + Dovecot), "RSS once" (treeMemory).
 */
import { readFile, realpath } from 'node:fs/promises';
import { processTree } from './proc.js';

export interface Memory {
  rss: number;
  pss: number;
  uss: number;
  anon: number;
  /** PSS with `exclusiveFile`'s pages counted in full (equal to pss when not given). */
  pssAlone: number;
}

interface Mapping {
  /** "path@offset" of a file mapping, "" for anonymous memory. */
  key: string;
  file: string;
  rss: number;
  pss: number;
  /** Private_Clean + Private_Dirty. */
  priv: number;
  anon: number;
}

const KB = 1024;

/** The mappings of /proc/<pid>/smaps with the fields the figures need (kB), or null if it is gone. */
async function mappings(pid: number): Promise<Mapping[] | null> {
  const text = await readFile(`/proc/${pid}/smaps`, 'utf8').catch(() => null);
  if (text === null) return null;
  const out: Mapping[] = [];
  let cur: Mapping | null = null;
  for (const line of text.split('\n')) {
    // A mapping header: "start-end perms offset dev inode [path]".
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      const f = line.split(/\s+/, 6);
      const file = f[5] ?? '';
      cur = { key: file.startsWith('/') ? `${file}@${f[2]}` : '', file, rss: 0, pss: 0, priv: 0, anon: 0 };
      out.push(cur);
      continue;
    }
    const m = /^(\w+):\s+(\d+) kB/.exec(line);
    if (!m || !cur) continue;
    const v = Number(m[2]);
    if (m[1] === 'Rss') cur.rss = v;
    else if (m[1] === 'Pss') cur.pss = v;
    else if (m[1] === 'Private_Clean' || m[1] === 'Private_Dirty') cur.priv += v;
    else if (m[1] === 'Anonymous') cur.anon = v;
  }
  return out;
}

/** One process's figures; `exclusiveFile` (the Node binary) is counted in full for pssAlone. */
export async function processMemory(pid: number, exclusiveFile?: string): Promise<Memory | null> {
  const maps = await mappings(pid);
  if (maps === null) return null;
  const sum = { rss: 0, pss: 0, uss: 0, anon: 0, pssAlone: 0 };
  for (const m of maps) {
    sum.rss += m.rss;
    sum.pss += m.pss;
    sum.uss += m.priv;
    sum.anon += m.anon;
    sum.pssAlone += exclusiveFile !== undefined && m.file === exclusiveFile ? m.rss : m.pss;
  }
  return { rss: sum.rss / KB, pss: sum.pss / KB, uss: sum.uss / KB, anon: sum.anon / KB, pssAlone: sum.pssAlone / KB };
}

/** The running Node binary's real path (what the daemon's smaps names). */
export function nodeBinary(): Promise<string> {
  return realpath(process.execPath);
}

export interface TreeMemory extends Memory {
  processes: number;
  /**
   * RSS of the whole group with every shared page of a file counted once: Σ private pages +
   * for each file mapping the largest shared part any process has + the PSS of shared anonymous
   * memory. What the group would occupy on a machine where nothing else shares its pages (the
   * group's equivalent of one process's RSS).
   */
  rssOnce: number;
}

/** Memory of every process in the trees under `roots`, summed, and how many processes there were. */
export async function treeMemory(roots: readonly number[]): Promise<TreeMemory> {
  const pids = new Set<number>();
  for (const r of roots) for (const p of await processTree(r)) pids.add(p);
  const sum = { rss: 0, pss: 0, uss: 0, anon: 0, pssAlone: 0, processes: 0, rssOnce: 0 };
  const sharedFile = new Map<string, number>();
  for (const p of pids) {
    const maps = await mappings(p);
    if (!maps) continue;
    sum.processes++;
    for (const m of maps) {
      sum.rss += m.rss;
      sum.pss += m.pss;
      sum.uss += m.priv;
      sum.anon += m.anon;
      sum.rssOnce += m.priv;
      if (m.key) sharedFile.set(m.key, Math.max(sharedFile.get(m.key) ?? 0, m.rss - m.priv));
      else sum.rssOnce += Math.max(0, m.pss - m.priv);
    }
  }
  for (const v of sharedFile.values()) sum.rssOnce += v;
  return {
    rss: sum.rss / KB, pss: sum.pss / KB, uss: sum.uss / KB, anon: sum.anon / KB, pssAlone: sum.pss / KB,
    processes: sum.processes, rssOnce: sum.rssOnce / KB,
  };
}

/** Process names in the trees under `roots`, with counts ("smtpd×2 cleanup qmgr …"). */
export async function treeNames(roots: readonly number[]): Promise<string> {
  const counts = new Map<string, number>();
  for (const r of roots) {
    for (const p of await processTree(r)) {
      const name = (await readFile(`/proc/${p}/comm`, 'utf8').catch(() => '?')).trim();
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
  }
  return [...counts].map(([n, c]) => (c > 1 ? `${n}×${c}` : n)).join(' ');
}
