import { Worker } from 'node:worker_threads';
import { TempFailure } from '../../../core/errors.js';
import type { CryptRequest, CryptResponse } from './worker.js';

/**
 * A few worker threads that run cryptSync() so SHA-crypt/MD5-crypt (milliseconds of pure JS each)
 * never stall the event loop that serves every SMTP/IMAP session (design principle 12).
 *
 * Each worker is a V8 isolate of its own: ~10 MB of RSS while it lives. So workers start on first
 * use, up to `size`, and one that has had nothing to do for `idleMs` exits, as Dovecot's
 * auth-worker processes do after `idle_kill` (60 s by default): a server whose users log in now
 * and then pays for the threads only around the logins (bench/footprint.ts measures it).
 * Tasks wait in one queue per client (the caller's key, e.g. the client's IP) and the queues are
 * served in turn, first come first served within each: sixteen connections of one attacker
 * sending expensive passwords hold up that attacker, while another client's login waits for at
 * most one task of each other client ahead of it (round robin, as Dovecot's auth workers serve
 * one request at a time in arrival order per connection). An idle worker is picked most recently
 * used first, so under light load the same one keeps working and the others age out.
 * Idle workers are unref()ed so an idle pool never keeps the process alive; they are ref()ed
 * while computing so a pending verify is awaited.
 * A crashed worker fails only its own task (TempFailure: a retry may succeed) and is replaced on demand.
 */

/** Dovecot's default `idle_kill` for its auth-worker service. */
export const DEFAULT_WORKER_IDLE_MS = 60_000;

export interface CryptWorkerPoolOptions {
  /** How long a worker may sit idle before it exits (default 60 s); 0 = never. */
  idleMs?: number;
}

interface Task {
  req: CryptRequest;
  resolve: (hash: string) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  task: Task | null;
  /** Ends the worker once it has been idle for idleMs (while idle). */
  idleTimer: NodeJS.Timeout | null;
}

export class CryptWorkerPool {
  readonly #size: number;
  readonly #idleMs: number;
  /** Idle slots are kept at the end in the order they became idle: the last is the most recent. */
  readonly #slots: Slot[] = [];
  /** Waiting tasks per client; the Map's order is the turn order (the served client goes last). */
  readonly #queues = new Map<string, Task[]>();
  #nextId = 1;
  #closed = false;
  #started = 0;
  #completed = 0;

  constructor(size: number, opts: CryptWorkerPoolOptions = {}) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('worker pool size must be an integer >= 1');
    const idleMs = opts.idleMs ?? DEFAULT_WORKER_IDLE_MS;
    if (!Number.isFinite(idleMs) || idleMs < 0) throw new RangeError('idleMs must be a number >= 0');
    this.#size = size;
    this.#idleMs = idleMs;
  }

  /** Threads currently alive (for tests and metrics). */
  get threads(): number {
    return this.#slots.length;
  }

  /** Threads started so far, including those that have exited since (for tests and metrics). */
  get started(): number {
    return this.#started;
  }

  /** Tasks finished so far, failed ones included (for tests and metrics). */
  get completed(): number {
    return this.#completed;
  }

  /** Tasks waiting for a worker (for tests and metrics). */
  get waiting(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.length;
    return n;
  }

  /** crypt(setting, password) on a worker, in `client`'s turn. */
  run(setting: string, password: string | Uint8Array, client = ''): Promise<string> {
    if (this.#closed) return Promise.reject(new TempFailure('password worker pool is closed'));
    // A copy of exactly the password's bytes (a string as UTF-8): a small Buffer is a view into a
    // shared 8 KB slab, all of which postMessage would otherwise copy to the worker.
    const bytes = typeof password === 'string' ? new Uint8Array(Buffer.from(password, 'utf8')) : new Uint8Array(password);
    return new Promise<string>((resolve, reject) => {
      const task: Task = { req: { id: this.#nextId++, setting, password: bytes }, resolve, reject };
      const queue = this.#queues.get(client);
      if (queue) queue.push(task);
      else this.#queues.set(client, [task]);
      this.#dispatch();
    });
  }

  /**
   * Starts every thread now, each with its modules loaded (one cheap hash apiece). For a daemon
   * about to switch to an account that may not be able to read its program files: threads
   * started later would load them after the switch. With `idleMs` 0 they then stay.
   */
  async prestart(): Promise<void> {
    await Promise.all(Array.from({ length: this.#size - this.#slots.length }, () => this.run('$6$rounds=1000$prestart$', 'prestart')));
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const queue of this.#queues.values()) for (const task of queue) task.reject(new TempFailure('password worker pool is closed'));
    this.#queues.clear();
    // Out of the pool first, so their 'exit' finds nothing to do; their tasks fail here.
    const slots = this.#slots.splice(0);
    for (const slot of slots) {
      this.#clearIdle(slot);
      slot.task?.reject(new TempFailure('password worker pool is closed'));
      slot.task = null;
    }
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  #dispatch(): void {
    while (this.#queues.size > 0) {
      const slot = this.#idleSlot() ?? (this.#slots.length < this.#size ? this.#spawn() : null);
      if (slot === null) return;
      const task = this.#nextTask();
      this.#clearIdle(slot);
      slot.task = task;
      slot.worker.ref();
      slot.worker.postMessage(task.req);
    }
  }

  /** The first task of the client whose turn it is; that client then goes to the back of the line. */
  #nextTask(): Task {
    const [client, queue] = this.#queues.entries().next().value!;
    const task = queue.shift()!;
    this.#queues.delete(client);
    if (queue.length > 0) this.#queues.set(client, queue);
    return task;
  }

  /** The most recently idle slot: the others keep ageing towards their exit. */
  #idleSlot(): Slot | null {
    for (let i = this.#slots.length - 1; i >= 0; i--) if (this.#slots[i]!.task === null) return this.#slots[i]!;
    return null;
  }

  #spawn(): Slot {
    const { url, workerData } = workerScript();
    const worker = new Worker(url, { workerData, name: 'tsmail-crypt' });
    this.#started++;
    const slot: Slot = { worker, task: null, idleTimer: null };
    this.#slots.push(slot);
    worker.on('message', (res: CryptResponse) => {
      const task = slot.task;
      if (task === null || task.req.id !== res.id) return;
      slot.task = null;
      this.#completed++;
      worker.unref();
      this.#becameIdle(slot);
      if (res.ok) task.resolve(res.value);
      else task.reject(new Error(res.error));
      this.#dispatch();
    });
    const fail = (why: string, detail?: unknown): void => {
      if (!this.#remove(slot)) return;
      this.#clearIdle(slot);
      const task = slot.task;
      slot.task = null;
      task?.reject(new TempFailure(this.#closed ? 'password worker pool is closed' : why, detail));
      if (!this.#closed) this.#dispatch();
    };
    worker.on('error', (err) => fail('password worker failed', err));
    worker.on('exit', (code) => fail(`password worker exited with code ${code}`));
    return slot;
  }

  /** Moves the slot behind every other one (most recently idle last) and arms its idle exit. */
  #becameIdle(slot: Slot): void {
    this.#remove(slot);
    this.#slots.push(slot);
    if (this.#idleMs === 0) return;
    slot.idleTimer = setTimeout(() => this.#retire(slot), this.#idleMs);
    slot.idleTimer.unref();
  }

  /** Idle for idleMs: out of the pool first (so no task can reach it), then terminated. */
  #retire(slot: Slot): void {
    slot.idleTimer = null;
    if (slot.task !== null || !this.#remove(slot)) return;
    // terminate() settles once the thread is gone; its 'exit' then finds the slot already removed.
    slot.worker.terminate().catch(() => undefined);
  }

  #clearIdle(slot: Slot): void {
    if (slot.idleTimer !== null) clearTimeout(slot.idleTimer);
    slot.idleTimer = null;
  }

  #remove(slot: Slot): boolean {
    const i = this.#slots.indexOf(slot);
    if (i < 0) return false;
    this.#slots.splice(i, 1);
    return true;
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
