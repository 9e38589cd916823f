import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

/**
 * Notices changes that other processes make to a folder (Dovecot, an MDA writing into new/,
 * rsync): one watcher pair (new/ and cur/) per open folder, shared by all its sessions, never
 * one per session (these machines allow 128 inotify instances per user; libuv puts all watches of
 * the process in one). A periodic rescan backs it up for filesystems without inotify (NFS).
 * `onChange` is called at most once per `debounceMs`.
 */
export class FolderWatch {
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;

  constructor(
    private readonly dir: string,
    private readonly onChange: () => void,
    private readonly opts = { debounceMs: 50, pollMs: 30_000 },
  ) {}

  start(): void {
    if (this.watchers.length || this.poll) return;
    for (const sub of ['new', 'cur']) {
      try {
        const w = watch(path.join(this.dir, sub), { persistent: false }, () => this.schedule());
        w.on('error', () => this.stopWatchers());
        this.watchers.push(w);
      } catch {
        // no inotify (limits, NFS): the poll below still finds changes
      }
    }
    this.poll = setInterval(() => this.schedule(), this.opts.pollMs);
    this.poll.unref();
  }

  stop(): void {
    this.stopWatchers();
    if (this.poll) clearInterval(this.poll);
    if (this.timer) clearTimeout(this.timer);
    this.poll = this.timer = undefined;
  }

  private stopWatchers(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onChange();
    }, this.opts.debounceMs);
    this.timer.unref();
  }
}
