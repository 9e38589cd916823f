import { Worker } from 'node:worker_threads';
import { TempFailure } from '../../../core/errors.js';
import type { CryptRequest, CryptResponse } from './worker.js';

/**
 * A few worker threads that run cryptSync() so SHA-crypt/MD5-crypt (milliseconds of pure JS each)
 * never stall the event loop that serves every SMTP/IMAP session (design principle 12).
 *
 * Workers start on first use, up to `size`, and are unref()ed while idle so an idle pool never
 * keeps the process alive; they are ref()ed while computing so a pending verify is awaited.
 * A crashed worker fails only its own task (TempFailure: a retry may succeed) and is replaced on demand.
 */

interface Task {
  req: CryptRequest;
  resolve: (hash: string) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  task: Task | null;
}

export class CryptWorkerPool {
  readonly #size: number;
  readonly #slots = new Set<Slot>();
  readonly #queue: Task[] = [];
  #nextId = 1;
  #closed = false;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('worker pool size must be an integer >= 1');
    this.#size = size;
  }

  /** Threads currently alive (for tests and metrics). */
  get threads(): number {
    return this.#slots.size;
  }

  run(setting: string, password: string): Promise<string> {
    if (this.#closed) return Promise.reject(new TempFailure('password worker pool is closed'));
    return new Promise<string>((resolve, reject) => {
      this.#queue.push({ req: { id: this.#nextId++, setting, password }, resolve, reject });
      this.#dispatch();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const task of this.#queue.splice(0)) task.reject(new TempFailure('password worker pool is closed'));
    await Promise.all([...this.#slots].map((slot) => slot.worker.terminate()));
    this.#slots.clear();
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const slot = this.#idleSlot() ?? (this.#slots.size < this.#size ? this.#spawn() : null);
      if (slot === null) return;
      const task = this.#queue.shift()!;
      slot.task = task;
      slot.worker.ref();
      slot.worker.postMessage(task.req);
    }
  }

  #idleSlot(): Slot | null {
    for (const slot of this.#slots) if (slot.task === null) return slot;
    return null;
  }

  #spawn(): Slot {
    const { url, workerData } = workerScript();
    const worker = new Worker(url, { workerData, name: 'tsmail-crypt' });
    const slot: Slot = { worker, task: null };
    this.#slots.add(slot);
    worker.on('message', (res: CryptResponse) => {
      const task = slot.task;
      if (task === null || task.req.id !== res.id) return;
      slot.task = null;
      worker.unref();
      if (res.ok) task.resolve(res.value);
      else task.reject(new Error(res.error));
      this.#dispatch();
    });
    const fail = (why: string, detail?: unknown): void => {
      if (!this.#slots.delete(slot)) return;
      const task = slot.task;
      slot.task = null;
      task?.reject(new TempFailure(this.#closed ? 'password worker pool is closed' : why, detail));
      if (!this.#closed) this.#dispatch();
    };
    worker.on('error', (err) => fail('password worker failed', err));
    worker.on('exit', (code) => fail(`password worker exited with code ${code}`));
    return slot;
  }
}

/**
 * Compiled into dist/ this module is .js and starts its .js sibling. Under tsx or vitest it is
 * .ts, and the worker must be too: worker-tsx.mjs loads it through tsx (see there why).
 */
function workerScript(): { url: URL; workerData?: { entry: string } } {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return { url: new URL('./worker.js', here) };
  return { url: new URL('./worker-tsx.mjs', here), workerData: { entry: new URL('./worker.ts', here).href } };
}
