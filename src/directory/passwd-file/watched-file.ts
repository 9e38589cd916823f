import { readFile, stat } from 'node:fs/promises';
import { TempFailure } from '../../core/errors.js';

/**
 * A text file parsed once and re-parsed when it changes on disk (an operator editing
 * /etc/dovecot/users, or `tsmail user add` from another process). Checks the file's identity
 * (inode, size, mtime) at most once per `checkIntervalMs` instead of holding an inotify watch:
 * these machines allow few inotify instances. A missing file is an empty one.
 *
 * A file that was read once and then becomes unreadable for permission reasons (EACCES/EPERM:
 * typically rewritten 0600 by root after the daemon switched to `daemon.user`) keeps its last
 * contents: failing every lookup would refuse all mail and logins. `onStale` is told once per
 * change of the file, and the read is retried at each check, so fixing the mode is picked up.
 */
export class WatchedFile<T> {
  private value: T | undefined;
  private signature = '';
  private checkedAt = 0;
  private loading: Promise<T> | undefined;
  private staleSignature: string | undefined;

  constructor(
    readonly path: string,
    private readonly parse: (text: string) => T,
    private readonly checkIntervalMs = 1000,
    private readonly now: () => number = Date.now,
    private readonly onStale: (path: string, err: NodeJS.ErrnoException) => void = () => {},
  ) {}

  async get(): Promise<T> {
    if (this.value !== undefined && this.now() - this.checkedAt < this.checkIntervalMs) return this.value;
    this.loading ??= this.refresh().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /** Forces a re-read on the next `get()` (SIGHUP, or after this process wrote the file). */
  invalidate(): void {
    this.checkedAt = 0;
    this.signature = '';
  }

  private async refresh(): Promise<T> {
    let sig: string;
    try {
      const s = await stat(this.path, { bigint: true });
      sig = `${s.ino}:${s.size}:${s.mtimeNs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return this.keepOrFail(err, 'unreadable', `cannot stat ${this.path}`);
      sig = 'missing';
    }
    if (sig !== this.signature || this.value === undefined) {
      let text = '';
      if (sig !== 'missing') {
        try {
          text = await readFile(this.path, 'utf8');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return this.keepOrFail(err, sig, `cannot read ${this.path}`);
        }
      }
      this.value = this.parse(text);
      this.signature = sig;
      this.staleSignature = undefined;
    }
    this.checkedAt = this.now();
    return this.value;
  }

  /** Permission denied after a successful read: the last contents stay (see the class comment). */
  private keepOrFail(err: unknown, sig: string, message: string): T {
    const code = (err as NodeJS.ErrnoException).code;
    if (this.value === undefined || (code !== 'EACCES' && code !== 'EPERM')) throw new TempFailure(message, err);
    if (this.staleSignature !== sig) this.onStale(this.path, err as NodeJS.ErrnoException);
    this.staleSignature = sig;
    this.checkedAt = this.now();
    return this.value;
  }
}
