import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/**
 * The one thing tsmail keeps root for after switching to `daemon.user`: reading the TLS
 * certificate and key on SIGHUP. Let's Encrypt's privkey.pem is 0600 root, and certbot writes
 * a new one on every renewal, so reading it once before the switch is not enough.
 *
 * Started before the switch, the reader is a POSIX shell that stays root and does exactly one
 * thing: for each request line on its stdin, send back the contents of the files it was given
 * when it started. Requests carry no path, so the unprivileged daemon (even a compromised one)
 * can obtain nothing but the certificate and key it already holds in memory; this is the
 * privilege separation of Postfix's master and Dovecot's auth process, at the smallest scale.
 * A shell (~1 MB) rather than a second Node process (~40 MB) keeps the footprint.
 *
 * It ends when the daemon does: the daemon's end closes the pipe, `read` sees end of file and
 * the loop stops (also after SIGKILL of the daemon). Terminal signals sent to the whole process
 * group (^C, a SIGHUP reload sent to the group) are ignored: only the daemon decides.
 */
const SCRIPT = `
trap '' HUP INT QUIT TERM
while IFS= read -r _; do
  for f in "$@"; do
    if out=$(base64 2>&1 < "$f"); then echo ok; else echo error; fi
    printf '%s\\n.\\n' "$out"
  done
done
`;

type ReaderProcess = ChildProcessByStdio<Writable, Readable, null>;

export class PrivilegedFileReader {
  private buffer = '';
  private waiting: { resolve: (files: Buffer[]) => void; reject: (err: Error) => void } | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private exited = false;

  private constructor(private readonly child: ReaderProcess, private readonly files: readonly string[]) {
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.deliver();
    });
    child.on('exit', () => {
      this.exited = true;
      this.waiting?.reject(new Error('the privileged certificate reader has exited'));
      this.waiting = undefined;
    });
    child.stdin.on('error', () => {}); // a write after its exit: reported through 'exit'
    // Never the reason the daemon stays alive.
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
  }

  /** Starts the reader for `files` (absolute paths), as the current (root) user. */
  static start(files: readonly string[]): PrivilegedFileReader {
    const child = spawn('/bin/sh', ['-c', SCRIPT, 'tsmail-cert-reader', ...files], {
      stdio: ['pipe', 'pipe', 'ignore'],
      // A fixed, minimal environment: nothing of the daemon's reaches a process that stays root.
      env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' },
      cwd: '/',
    });
    return new PrivilegedFileReader(child, files);
  }

  /** The files' current contents, in the order given to start(); one request at a time. */
  read(): Promise<Buffer[]> {
    const next = this.queue.then(() => this.request());
    this.queue = next.catch(() => {});
    return next;
  }

  close(): void {
    this.child.stdin.end();
  }

  private request(): Promise<Buffer[]> {
    if (this.exited) return Promise.reject(new Error('the privileged certificate reader has exited'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.child.stdin.write('read\n');
    });
  }

  /** Answers: per file a line `ok` or `error`, then base64 (or the error text), then a line `.`. */
  private deliver(): void {
    const frames = this.buffer.split('\n.\n');
    if (frames.length <= this.files.length) return;
    this.buffer = frames.slice(this.files.length).join('\n.\n');
    const waiting = this.waiting;
    this.waiting = undefined;
    const out: Buffer[] = [];
    for (const [i, frame] of frames.slice(0, this.files.length).entries()) {
      const nl = frame.indexOf('\n');
      const status = nl < 0 ? frame : frame.slice(0, nl);
      const body = nl < 0 ? '' : frame.slice(nl + 1);
      if (status !== 'ok') {
        waiting?.reject(new Error(`cannot read ${this.files[i]}: ${body.trim() || 'unknown error'}`));
        return;
      }
      out.push(Buffer.from(body, 'base64'));
    }
    waiting?.resolve(out);
  }
}
