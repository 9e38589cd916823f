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
  readonly #inline: SchemeContext = { crypt: async (s, p) => cryptSync(s, p) };
  #closed = false;

  constructor(opts: PasswordHasherOptions) {
    const workers = opts.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 0) throw new RangeError('workers must be an integer >= 0');
    this.#defaultScheme = opts.defaultScheme;
    this.#pool = workers > 0 ? new CryptWorkerPool(workers, { idleMs: opts.workerIdleMs }) : null;
    this.#cache = new VerifyCache(opts.cacheTtlMs ?? 60_000);
  }

  /**
   * True iff `password` matches `stored`. A wrong password, or a hash its scheme cannot read,
   * resolves false. Rejects with InvalidInput for an unknown `{SCHEME}`, TempFailure when
   * closed or a worker died. The password is compared as bytes (a string is taken as UTF-8).
   * `client` (e.g. the client's IP) is whose work this is: the worker pool serves clients in
   * turn, so one client's flood of logins cannot hold up another's.
   */
  async verify(stored: string, password: string | Buffer, client = ''): Promise<boolean> {
    this.#assertOpen();
    const { scheme, hash } = parseStoredPassword(stored, this.#defaultScheme);
    const bytes = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
    if (bytes.length > MAX_PASSWORD_BYTES) return false;
    const key = VerifyCache.key(stored, bytes);
    if (this.#cache.has(key)) return true;
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = SCHEME_IMPLS[scheme].verify(hash, bytes, this.#context(client)).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    const ok = await pending;
    if (ok) this.#cache.remember(key);
    return ok;
  }

  /** `{SCHEME}hash` for a new password, with a fresh random salt. */
  async hash(password: string | Buffer, scheme: SchemeName = this.#defaultScheme): Promise<string> {
    this.#assertOpen();
    const bytes = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
    if (bytes.length > MAX_PASSWORD_BYTES) {
      throw new InvalidInput(`password longer than ${MAX_PASSWORD_BYTES} bytes`);
    }
    const impl = SCHEME_IMPLS[scheme];
    if (impl === undefined) throw new InvalidInput(`unknown password scheme ${String(scheme)}`);
    return `{${scheme}}${await impl.hash(bytes, this.#context(''))}`;
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

  /** crypt(3) for one caller: in the pool under its client's turn, or inline. */
  #context(client: string): SchemeContext {
    const pool = this.#pool;
    return pool ? { crypt: (setting, password) => pool.run(setting, password, client) } : this.#inline;
  }

  #assertOpen(): void {
    if (this.#closed) throw new TempFailure('password hasher is closed');
  }
}
