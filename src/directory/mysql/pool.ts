/**
 * The one place that talks to mysql2. Every statement is a server-side prepared statement
 * (`execute` with `?` parameters): input is never part of SQL text, and unlike mysql2's
 * client-side `query` formatting a `?` inside a string literal stays a literal.
 *
 * Failure policy (design "Directory"): any connection or server error becomes `TempFailure`
 * (the original error as `detail`, one log line), never "not found" and never a crash, so that
 * SMTP answers 451 and IMAP NO [UNAVAILABLE] while MySQL is away. The pool opens new connections
 * on demand, so service resumes by itself when the server is back. Time is bounded: connecting by
 * `connectTimeoutMs`, each statement by `queryTimeoutMs` (the connection is then discarded,
 * since the server may still answer the abandoned statement on it).
 *
 * mysql2 itself is loaded on the first statement, not with this module: it is ~3 MB of heap and
 * ~10 MB of RSS that a server on the passwd-file directory never needs (the composition root
 * imports this backend either way), and a MySQL server's first lookup pays ~0.1 s once.
 */
import type { ExecuteValues, Pool, PoolConnection, PoolOptions } from 'mysql2/promise';
import { InvalidInput, MailError, TempFailure } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { MYSQL_DEFAULTS, type MysqlOptions } from './options.js';

export type Row = Record<string, unknown>;

export interface WriteResult {
  affectedRows: number;
  insertId: number;
}

/** Statements on the pool or inside one transaction. `label` names the statement in logs. */
export interface Sql {
  /** Rows as objects keyed by column name as the server reports it. */
  rows(label: string, sql: string, params: readonly unknown[]): Promise<Row[]>;
  /** Rows as arrays of every column, in order. */
  arrays(label: string, sql: string, params: readonly unknown[]): Promise<unknown[][]>;
  /** INSERT/UPDATE/DELETE. `affectedRows` counts matched rows (mysql2 sets CLIENT_FOUND_ROWS). */
  exec(label: string, sql: string, params: readonly unknown[]): Promise<WriteResult>;
}

export interface Db extends Sql {
  /** Runs `fn` in one transaction on one connection; rolls back when it throws. */
  transaction<T>(label: string, fn: (tx: Sql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

interface DriverError {
  code?: string;
  errno?: number;
  fatal?: boolean;
  message?: string;
}

function driverError(err: unknown): DriverError {
  return typeof err === 'object' && err !== null ? (err as DriverError) : { message: String(err) };
}

// ER_CANT_AGGREGATE_2COLLATIONS, _3COLLATIONS, _NCOLLATIONS: the server refuses to compare a
// column with a value its character set cannot hold (an emoji against a utf8mb3 column).
const COLLATION_MIX: ReadonlySet<number> = new Set([1267, 1270, 1271]);
// The connection died under the statement; a new one may well work.
const CONNECTION_LOST: ReadonlySet<string> = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'EPIPE']);
// Values that can never be stored, whatever the server's state: the caller's input is wrong.
const BAD_VALUE: ReadonlyMap<number, string> = new Map([
  [1062, 'already exists'], // ER_DUP_ENTRY
  [1406, 'is too long for its column'], // ER_DATA_TOO_LONG
  [1366, 'has characters its column cannot store'], // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
]);

function hasNonAscii(params: readonly unknown[]): boolean {
  return params.some((p) => typeof p === 'string' && /[^\x00-\x7f]/.test(p));
}

/** Rejects after `ms`; a result arriving later is handed to `late` so nothing leaks. */
function withDeadline<T>(promise: Promise<T>, ms: number, what: string, late: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      reject(Object.assign(new Error(`${what} took longer than ${ms} ms`), { code: 'ETIMEDOUT' }));
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        if (expired) late(value);
        else resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (!expired) reject(err);
      },
    );
  });
}

type Outcome = 'rows' | 'arrays' | 'exec';

/** mysql2 is loaded on first use (test/daemon/lazy-modules.test.ts). */
const importDriver = () => import('mysql2/promise');

export class MysqlPool implements Db {
  private readonly poolOptions: PoolOptions;
  private pool: Promise<Pool> | null = null;
  private driver: ReturnType<typeof importDriver> | undefined;
  private readonly queryTimeoutMs: number;
  private readonly acquireTimeoutMs: number;
  private closed = false;

  constructor(opts: MysqlOptions, private readonly log: Logger) {
    const connectTimeoutMs = opts.connectTimeoutMs ?? MYSQL_DEFAULTS.connectTimeoutMs;
    this.queryTimeoutMs = opts.queryTimeoutMs ?? MYSQL_DEFAULTS.queryTimeoutMs;
    // A caller may queue behind a statement that is timing out and then need a fresh connect.
    this.acquireTimeoutMs = connectTimeoutMs + this.queryTimeoutMs;
    const poolSize = opts.poolSize ?? MYSQL_DEFAULTS.poolSize;
    this.poolOptions = {
      ...(opts.socket ? { socketPath: opts.socket } : { host: opts.host, port: opts.port }),
      user: opts.user,
      password: opts.password,
      database: opts.database,
      connectionLimit: poolSize,
      connectTimeout: connectTimeoutMs,
      // Idle connections stay open; one the server or network dropped is noticed by keepalive
      // or by its first statement failing, and is then replaced.
      enableKeepAlive: true,
      waitForConnections: true,
      queueLimit: 0,
      charset: 'utf8mb4',
      dateStrings: true,
      supportBigNumbers: true,
    };
  }

  /** The mysql2 pool, created (and mysql2 loaded) on first use; it opens connections on demand. */
  private connections(): Promise<Pool> {
    this.pool ??= this.loadDriver().then((m) => m.default.createPool(this.poolOptions));
    return this.pool;
  }

  /** Loads mysql2 without connecting: a daemon about to switch users (Daemon's beforeDrop). */
  loadDriver(): ReturnType<typeof importDriver> {
    this.driver ??= importDriver();
    return this.driver;
  }

  rows(label: string, sql: string, params: readonly unknown[]): Promise<Row[]> {
    return this.read('rows', label, sql, params) as Promise<Row[]>;
  }

  arrays(label: string, sql: string, params: readonly unknown[]): Promise<unknown[][]> {
    return this.read('arrays', label, sql, params) as Promise<unknown[][]>;
  }

  exec(label: string, sql: string, params: readonly unknown[]): Promise<WriteResult> {
    return this.onConnection(label, (conn) => this.run(conn, 'exec', label, sql, params)) as Promise<WriteResult>;
  }

  async transaction<T>(label: string, fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.onConnection(label, async (conn) => {
      await this.run(conn, 'exec', `${label}: begin`, 'START TRANSACTION', []);
      const tx: Sql = {
        rows: (l, sql, params) => this.run(conn, 'rows', l, sql, params) as Promise<Row[]>,
        arrays: (l, sql, params) => this.run(conn, 'arrays', l, sql, params) as Promise<unknown[][]>,
        exec: (l, sql, params) => this.run(conn, 'exec', l, sql, params) as Promise<WriteResult>,
      };
      try {
        const result = await fn(tx);
        await this.run(conn, 'exec', `${label}: commit`, 'COMMIT', []);
        return result;
      } catch (err) {
        // If the rollback fails too, the connection is broken and onConnection discards it.
        await this.run(conn, 'exec', `${label}: rollback`, 'ROLLBACK', []).catch(() => undefined);
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Never used: nothing to end. A failed load of mysql2 left nothing open either.
    const pool = await this.pool?.catch(() => null);
    if (!pool) return;
    await pool.end().catch((err: unknown) => {
      this.log.debug({ err: driverError(err).message }, 'mysql: error while closing the pool');
    });
  }

  /**
   * A read whose pooled connection turns out to be dead (the server restarted while it sat
   * idle) is tried once more on a new connection, as Postfix's dict_mysql retries a failed
   * query on a fresh connection. Writes are never repeated.
   */
  private async read(outcome: 'rows' | 'arrays', label: string, sql: string, params: readonly unknown[]) {
    const attempt = () => this.onConnection(label, (conn) => this.run(conn, outcome, label, sql, params));
    try {
      return await attempt();
    } catch (err) {
      const code = err instanceof TempFailure ? driverError(err.detail).code : undefined;
      if (code === undefined || !CONNECTION_LOST.has(code)) throw err;
      return attempt();
    }
  }

  /** Acquires a connection, runs `fn`, then releases it, or destroys it when it is unusable. */
  private async onConnection<T>(label: string, fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
    if (this.closed) throw new TempFailure('MySQL directory is closed');
    let conn: PoolConnection;
    try {
      conn = await withDeadline(this.connections().then((p) => p.getConnection()), this.acquireTimeoutMs, 'getting a MySQL connection', (c) =>
        c.release(),
      );
    } catch (err) {
      throw this.failure(label, err);
    }
    let broken = false;
    try {
      return await fn(conn);
    } catch (err) {
      // After a server error or a timeout the connection's state is unknown: do not reuse it.
      broken = err instanceof TempFailure || !(err instanceof MailError);
      throw err;
    } finally {
      if (broken) conn.destroy();
      else conn.release();
    }
  }

  private async run(
    conn: PoolConnection,
    outcome: Outcome,
    label: string,
    sql: string,
    params: readonly unknown[],
  ): Promise<Row[] | unknown[][] | WriteResult> {
    try {
      const [result] = await conn.execute(
        { sql, timeout: this.queryTimeoutMs, rowsAsArray: outcome === 'arrays' },
        params as ExecuteValues[],
      );
      if (outcome === 'exec') {
        const header = result as { affectedRows?: number; insertId?: number };
        return { affectedRows: header.affectedRows ?? 0, insertId: Number(header.insertId ?? 0) };
      }
      return result as Row[] | unknown[][];
    } catch (err) {
      const info = driverError(err);
      if (info.errno !== undefined && COLLATION_MIX.has(info.errno) && hasNonAscii(params)) {
        // Such a value cannot equal anything stored in that column: no rows, not an outage.
        this.log.debug({ query: label, code: info.code }, 'mysql: value not representable in column charset');
        return outcome === 'exec' ? { affectedRows: 0, insertId: 0 } : [];
      }
      const bad = info.errno !== undefined ? BAD_VALUE.get(info.errno) : undefined;
      if (bad !== undefined) throw new InvalidInput(`the value ${bad} (${label})`, err);
      if (err instanceof MailError) throw err;
      throw this.failure(label, err);
    }
  }

  private failure(label: string, err: unknown): TempFailure {
    if (err instanceof TempFailure) return err;
    const info = driverError(err);
    this.log.warn({ query: label, code: info.code, errno: info.errno, error: info.message }, 'mysql: statement failed');
    return new TempFailure(`MySQL unavailable (${info.code ?? 'error'}) during ${label}`, err);
  }
}
