// Development-only worker entry, used when pool.ts itself runs as TypeScript (tsx, vitest).
// `--import tsx` is not enough on Node 20: tsx registers its loader on the main thread only,
// so this plain-JS entry loads worker.ts through tsx's tsImport() instead. Compiled code in
// dist/ starts worker.js directly and never reaches this file.
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

await tsImport(workerData.entry, import.meta.url);
