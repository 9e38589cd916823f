// In-process memory figures for bench/footprint.ts, preloaded into the daemon with
// `node --expose-gc --import <this file> dist/main.js serve` so that nothing in src/ has to
// carry a benchmark hook. Plain JavaScript: the daemon runs compiled code without tsx.
//
// On SIGUSR2 it reads the request `<TSMAIL_BENCH_PROBE>.req` ({ gc, snapshot }), and writes
// `<TSMAIL_BENCH_PROBE>.json` (through a rename, so the bench never reads half a file):
//   before: process.memoryUsage() and V8's heap spaces as they are;
//   after:  the same after a full garbage collection (when gc is asked for): the live heap;
//   snapshot: the file a heap snapshot was written to, taken after that collection.
// Nothing runs until the signal comes; the listener itself costs a few kB.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';

const base = process.env.TSMAIL_BENCH_PROBE;
const MB = 1024 * 1024;

function figures() {
  const m = process.memoryUsage();
  const spaces = {};
  for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = { used: s.space_used_size / MB, physical: s.physical_space_size / MB };
  return {
    rss: m.rss / MB,
    heapTotal: m.heapTotal / MB,
    heapUsed: m.heapUsed / MB,
    external: m.external / MB,
    arrayBuffers: m.arrayBuffers / MB,
    malloced: v8.getHeapStatistics().malloced_memory / MB,
    spaces,
  };
}

if (base) {
  process.on('SIGUSR2', () => {
    let req = {};
    try {
      req = JSON.parse(readFileSync(`${base}.req`, 'utf8'));
    } catch {}
    const out = { before: figures(), after: null, snapshot: null };
    if (req.gc && typeof globalThis.gc === 'function') {
      globalThis.gc();
      out.after = figures();
    }
    if (req.snapshot) out.snapshot = v8.writeHeapSnapshot(req.snapshot);
    writeFileSync(`${base}.tmp`, JSON.stringify(out));
    renameSync(`${base}.tmp`, `${base}.json`);
  });
}
