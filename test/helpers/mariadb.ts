/**
 * A private MariaDB for tests: a fresh datadir in a temp directory, listening only on a unix
 * socket, started once per test file (≈1 s) and shared by its tests.
 *
 *   const skip = mariadbSkipReason();          // prints why, or throws when CI=true
 *   describe.skipIf(skip !== null)('...', () => {
 *     let db: MariaDb;
 *     beforeAll(async () => { db = await startMariaDb(); });
 *     afterAll(async () => { await db?.destroy(); });
 *   });
 *
 * Nothing outlives the test process: `destroy()` (call it in afterAll) kills the server and
 * removes the directory, and a watchdog shell does the same if the test process dies first
 * (it waits for EOF on a pipe only this process holds).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';

const execFileAsync = promisify(execFile);
const MISSING = 'mariadbd not found; apt-get install mariadb-server';

export interface MariaDbBinaries {
  mariadbd: string;
  installDb: string;
}

export interface MariaDb {
  readonly socket: string;
  /** A password account with every privilege, for the code under test. */
  readonly user: string;
  readonly password: string;
  /** True between a (re)start and stop()/kill(). */
  readonly running: boolean;
  /** Runs SQL as the server's admin account (unix-socket auth). */
  query(sql: string, params?: unknown[], database?: string): Promise<unknown[]>;
  createDatabase(name: string): Promise<void>;
  /** Loads a .sql file (path) or SQL text into `database` (which must exist). */
  loadSql(fileOrSql: string, database: string): Promise<void>;
  /** Graceful shutdown (SIGTERM), waiting until the process is gone. */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash; the socket file stays behind, refusing connections. */
  kill(): Promise<void>;
  /** Starts the server again on the same datadir and socket. */
  restart(): Promise<void>;
  /** SIGSTOP: the server keeps its sockets but answers nothing, like a hung host. */
  freeze(): Promise<void>;
  /** SIGCONT after freeze(). */
  thaw(): void;
  /** Kills the server and removes its directory; safe to call twice. */
  destroy(): Promise<void>;
}

/** PATH plus the directories Debian's mariadb-server installs into (often not on a user's PATH). */
export function defaultSearchDirs(): string[] {
  const fromPath = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d !== '');
  return [...fromPath, '/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];
}

function findExecutable(name: string, dirs: readonly string[]): string | null {
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export function findMariaDbBinaries(dirs: readonly string[] = defaultSearchDirs()): MariaDbBinaries | null {
  const mariadbd = findExecutable('mariadbd', dirs);
  const installDb = findExecutable('mariadb-install-db', dirs);
  return mariadbd && installDb ? { mariadbd, installDb } : null;
}

/**
 * Null when MariaDB can be started. Otherwise prints the reason and returns it for
 * `describe.skipIf`; with CI=true it throws instead, so CI fails rather than skips.
 */
export function mariadbSkipReason(found: MariaDbBinaries | null = findMariaDbBinaries()): string | null {
  if (found !== null) return null;
  if (process.env.CI === 'true') throw new Error(`${MISSING} (CI=true: the MySQL tests are mandatory)`);
  console.warn(`[skipped] MySQL integration tests: ${MISSING}`);
  return MISSING;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

class Server implements MariaDb {
  readonly socket: string;
  readonly user = 'tsmail_test';
  readonly password = 'tsmail-test-password';
  private readonly datadir: string;
  private readonly logFile: string;
  private readonly osUser: string;
  private child: ChildProcess | null = null;
  private watchdog: ChildProcess | null = null;
  private destroyed = false;

  constructor(
    private readonly bin: MariaDbBinaries,
    private readonly dir: string,
  ) {
    this.socket = path.join(dir, 'mysqld.sock');
    this.datadir = path.join(dir, 'data');
    this.logFile = path.join(dir, 'mariadbd.log');
    // As root, mariadbd must be told to stay root; otherwise it runs as whoever starts it, and
    // install-db's socket-auth admin account is named after that user.
    this.osUser = process.getuid?.() === 0 ? 'root' : userInfo().username;
  }

  async install(): Promise<void> {
    try {
      await execFileAsync(
        this.bin.installDb,
        [
          '--no-defaults',
          `--datadir=${this.datadir}`,
          `--user=${this.osUser}`,
          '--auth-root-authentication-method=socket',
          '--skip-test-db',
        ],
        { timeout: 60_000 },
      );
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`mariadb-install-db failed: ${e.message}\n${e.stderr ?? ''}`);
    }
  }

  async start(): Promise<void> {
    const log = openSync(this.logFile, 'a');
    try {
      this.child = spawn(
        this.bin.mariadbd,
        [
          '--no-defaults',
          `--datadir=${this.datadir}`,
          `--socket=${this.socket}`,
          `--pid-file=${path.join(this.dir, 'mariadbd.pid')}`,
          '--skip-networking',
          `--user=${this.osUser}`,
          '--innodb-buffer-pool-size=32M',
        ],
        { stdio: ['ignore', log, log] },
      );
    } finally {
      closeSync(log);
    }
    const pid = this.child.pid;
    if (pid === undefined) throw new Error(`could not start ${this.bin.mariadbd}`);
    // If this process dies without destroy(), the pipe closes, `read` sees EOF, and the
    // watchdog kills the server and removes the directory.
    this.watchdog = spawn(
      'sh',
      ['-c', 'while read -r _; do :; done; kill -KILL "$1" 2>/dev/null; rm -rf "$2"', 'mariadb-watchdog', String(pid), this.dir],
      { stdio: ['pipe', 'ignore', 'ignore'] },
    );
    await this.waitReady();
  }

  async query(sql: string, params: unknown[] = [], database?: string): Promise<unknown[]> {
    const conn = await mysql.createConnection({
      socketPath: this.socket,
      user: this.osUser,
      multipleStatements: true,
      ...(database ? { database } : {}),
    });
    try {
      const [rows] = await conn.query(sql, params);
      return rows as unknown[];
    } finally {
      await conn.end();
    }
  }

  async createDatabase(name: string): Promise<void> {
    await this.query(`CREATE DATABASE \`${name.replace(/`/g, '``')}\` CHARACTER SET utf8mb4`);
  }

  async loadSql(fileOrSql: string, database: string): Promise<void> {
    const isFile = !fileOrSql.includes('\n') && existsSync(fileOrSql);
    await this.query(isFile ? readFileSync(fileOrSql, 'utf8') : fileOrSql, [], database);
  }

  async stop(): Promise<void> {
    await this.halt('SIGTERM');
  }

  async kill(): Promise<void> {
    await this.halt('SIGKILL');
  }

  async restart(): Promise<void> {
    if (this.child) await this.halt('SIGTERM');
    await this.start();
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Resolves once every thread of the server is stopped: SIGSTOP delivery is asynchronous. */
  async freeze(): Promise<void> {
    const pid = this.child?.pid;
    if (!pid) return;
    this.child!.kill('SIGSTOP');
    const deadline = Date.now() + 5_000;
    for (;;) {
      const states = readdirSync(`/proc/${pid}/task`).map((t) => {
        try {
          return /\) (\S)/.exec(readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8'))?.[1];
        } catch {
          return 'T';
        }
      });
      if (states.every((st) => st === 'T' || st === 't')) return;
      if (Date.now() > deadline) throw new Error(`mariadbd ${pid} did not stop: ${states.join('')}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.halt('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async halt(signal: NodeJS.Signals): Promise<void> {
    // The watchdog goes first: once the server is reaped its pid may be reused.
    if (this.watchdog) {
      this.watchdog.kill('SIGKILL');
      this.watchdog.stdin?.destroy();
      this.watchdog = null;
    }
    const child = this.child;
    this.child = null;
    if (!child) return;
    const gone = exited(child);
    child.kill(signal);
    child.kill('SIGCONT'); // a frozen server would otherwise never act on SIGTERM
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await gone;
    clearTimeout(timer);
  }

  private async waitReady(): Promise<void> {
    const deadline = Date.now() + 30_000;
    const child = this.child!;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`mariadbd exited during startup:\n${this.logTail()}`);
      }
      try {
        await this.query('SELECT 1');
        return;
      } catch (err) {
        if (Date.now() > deadline) {
          throw new Error(`mariadbd did not accept connections within 30 s (${String(err)}):\n${this.logTail()}`);
        }
        await sleep(25);
      }
    }
  }

  private logTail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-25).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

/** Installs and starts a private server; throws (with the reason) when it cannot. */
export async function startMariaDb(): Promise<MariaDb> {
  const bin = findMariaDbBinaries();
  if (bin === null) throw new Error(MISSING);
  const dir = mkdtempSync(path.join(tmpdir(), 'tsmail-mariadb-'));
  const server = new Server(bin, dir);
  try {
    await server.install();
    await server.start();
    await server.query(
      `CREATE USER '${server.user}'@'localhost' IDENTIFIED BY '${server.password}';
       GRANT ALL PRIVILEGES ON *.* TO '${server.user}'@'localhost';`,
    );
    return server;
  } catch (err) {
    await server.destroy();
    throw err;
  }
}
