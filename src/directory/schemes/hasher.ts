import { InvalidInput, TempFailure } from '../../core/errors.js';
import { cryptSync } from './crypt/crypt.js';
import { CryptWorkerPool } from './crypt/pool.js';
import type { SchemeName } from './names.js';
import { parseStoredPassword } from './parse.js';
import { SCHEME_IMPLS } from './registry.js';
import type { SchemeContext } from './scheme.js';
import { VerifyCache } from './verify-cache.js';

export interface PasswordHasherOptions {
  /** Dovecot's default_pass_scheme: for stored passwords without a `{SCHEME}` prefix, and for hash(). */
  defaultScheme: SchemeName;
  /**
   * Worker threads for SHA-crypt/MD5-crypt (default 1). 0 computes them on the calling thread:
   * only for one-shot tools (CLI, benchmarks), never in the server. bcrypt and argon2 always run
   * on libuv's thread pool (UV_THREADPOOL_SIZE) regardless.
   */
  workers?: number;
  /** How long an idle worker thread lives before it exits (default 60 s, see crypt/pool.ts). */
  workerIdleMs?: number;
  /** How long a successful verification is remembered, in ms (default 60 000; 0 disables). */
  cacheTtlMs?: number;
}

/**
 * A password longer than any SASL exchange carries in practice. SHA-crypt hashes the password
 * `length` times over (quadratic), so an attacker-chosen megabyte would cost a worker minutes;
 * longer input simply does not verify, and hash() refuses it.
 */
export const MAX_PASSWORD_BYTES = 16 * 1024;

/** Verifies and creates passwords in Dovecot's schemes without stalling the event loop. */
export class PasswordHasher {
  readonly #defaultScheme: SchemeName;
  readonly #pool: CryptWorkerPool | null;
  readonly #cache: VerifyCache;
  /** Identical concurrent logins (a client opening several connections) share one computation. */
  readonly #inflight = new Map<string, Promise<boolean>>();
  readonly #ctx: SchemeContext;
  #closed = false;

  constructor(opts: PasswordHasherOptions) {
    const workers = opts.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 0) throw new RangeError('workers must be an integer >= 0');
    this.#defaultScheme = opts.defaultScheme;
    this.#pool = workers > 0 ? new CryptWorkerPool(workers, { idleMs: opts.workerIdleMs }) : null;
    this.#cache = new VerifyCache(opts.cacheTtlMs ?? 60_000);
    const pool = this.#pool;
    this.#ctx = {
      crypt: pool ? (setting, password) => pool.run(setting, password) : async (s, p) => cryptSync(s, p),
    };
  }

  /**
   * True iff `password` matches `stored`. A wrong password, or a hash its scheme cannot read,
   * resolves false. Rejects with InvalidInput for an unknown `{SCHEME}`, TempFailure when
   * closed or a worker died.
   */
  async verify(stored: string, password: string): Promise<boolean> {
    this.#assertOpen();
    const { scheme, hash } = parseStoredPassword(stored, this.#defaultScheme);
    if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) return false;
    const key = VerifyCache.key(stored, password);
    if (this.#cache.has(key)) return true;
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = SCHEME_IMPLS[scheme].verify(hash, password, this.#ctx).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    const ok = await pending;
    if (ok) this.#cache.remember(key);
    return ok;
  }

  /** `{SCHEME}hash` for a new password, with a fresh random salt. */
  async hash(password: string, scheme: SchemeName = this.#defaultScheme): Promise<string> {
    this.#assertOpen();
    if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
      throw new InvalidInput(`password longer than ${MAX_PASSWORD_BYTES} bytes`);
    }
    const impl = SCHEME_IMPLS[scheme];
    if (impl === undefined) throw new InvalidInput(`unknown password scheme ${String(scheme)}`);
    return `{${scheme}}${await impl.hash(password, this.#ctx)}`;
  }

  /** Starts the worker threads now rather than at the first login (see CryptWorkerPool.prestart). */
  async prestartWorkers(): Promise<void> {
    await this.#pool?.prestart();
  }

  /** Terminates the worker threads; later calls reject with TempFailure. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#cache.clear();
    await this.#pool?.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new TempFailure('password hasher is closed');
  }
}
