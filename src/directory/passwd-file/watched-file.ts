import { readFile, stat } from 'node:fs/promises';
import { TempFailure } from '../../core/errors.js';

/**
 * A text file parsed once and re-parsed when it changes on disk (an operator editing
 * /etc/dovecot/users, or `tsmail user add` from another process). Checks the file's identity
 * (inode, size, mtime) at most once per `checkIntervalMs` instead of holding an inotify watch:
 * these machines allow few inotify instances. A missing file is an empty one.
 */
export class WatchedFile<T> {
  private value: T | undefined;
  private signature = '';
  private checkedAt = 0;
  private loading: Promise<T> | undefined;

  constructor(
    readonly path: string,
    private readonly parse: (text: string) => T,
    private readonly checkIntervalMs = 1000,
    private readonly now: () => number = Date.now,
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
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new TempFailure(`cannot stat ${this.path}`, err);
      sig = 'missing';
    }
    if (sig !== this.signature || this.value === undefined) {
      let text = '';
      if (sig !== 'missing') {
        try {
          text = await readFile(this.path, 'utf8');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new TempFailure(`cannot read ${this.path}`, err);
        }
      }
      this.value = this.parse(text);
      this.signature = sig;
    }
    this.checkedAt = this.now();
    return this.value;
  }
}
