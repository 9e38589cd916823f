/**
 * The outbound spool: mail accepted for other domains waits here, durably, until the queue
 * manager (a later issue) delivers it. Nothing accepted may be lost, so the layout follows the
 * Maildir rule: write in tmp/, fsync, rename into place, fsync the directory.
 *
 *   <spool>/tmp/<id>          message being written (never read by anyone else)
 *   <spool>/tmp/<id>.json     its envelope being written
 *   <spool>/queued/<id>       the message (RFC 5322, CRLF line ends as received)
 *   <spool>/queued/<id>.json  {"from": "...", "to": ["..."], "dsn"?: {...}, "received": ISO date}
 *
 * The message is renamed into queued/ first and the envelope last: a queued/<id> without its
 * .json is an interrupted enqueue (not acknowledged) and may be deleted.
 */
import { mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { TempFailure } from '../core/errors.js';
import { fsyncDir } from '../core/atomic-file.js';

export interface SpoolEnvelope {
  from: string;
  to: string[];
  /** DSN parameters (RFC 3461) given with MAIL FROM and RCPT TO, for the delivery reports. */
  dsn?: {
    ret?: string;
    envid?: string;
    recipients?: Record<string, { notify?: string[]; orcpt?: string }>;
  };
}

export class Spool {
  constructor(private readonly dir: string, private readonly now: () => Date = () => new Date()) {}

  /** A private file name for staging a message before it is enqueued (same filesystem). */
  stagingPath(): string {
    return path.join(this.dir, 'tmp', `stage-${Date.now().toString(36)}${randomBytes(6).toString('hex')}`);
  }

  /**
   * Start-up: creates the spool directories and empties tmp/. Nothing in tmp/ was ever
   * acknowledged (an enqueue answers only after its rename into queued/): what is left there
   * is a staged message or an enqueue cut short by a crash, and the client was told to retry
   * or never told anything. Postfix's postsuper likewise removes its stale temporary files.
   * Must run before this process accepts mail; one data_dir serves one tsmail process.
   * Resolves with the number of files removed.
   */
  async init(): Promise<{ removed: number }> {
    const tmp = path.join(this.dir, 'tmp');
    await mkdir(tmp, { recursive: true, mode: 0o700 });
    await mkdir(path.join(this.dir, 'queued'), { recursive: true, mode: 0o700 });
    let removed = 0;
    for (const name of await readdir(tmp)) {
      await rm(path.join(tmp, name), { force: true, recursive: true });
      removed++;
    }
    return { removed };
  }

  /** The spool's directories, subdirectories first (for giving them to the service account). */
  directories(): string[] {
    return [path.join(this.dir, 'tmp'), path.join(this.dir, 'queued'), this.dir];
  }

  /** Stores the message durably; resolves with its queue id only when it is safe on disk. */
  async enqueue(envelope: SpoolEnvelope, message: NodeJS.ReadableStream | Buffer): Promise<string> {
    const id = `${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;
    const tmp = path.join(this.dir, 'tmp');
    const queued = path.join(this.dir, 'queued');
    try {
      await mkdir(tmp, { recursive: true, mode: 0o700 });
      await mkdir(queued, { recursive: true, mode: 0o700 });
      await writeSynced(path.join(tmp, id), message);
      await writeSynced(path.join(tmp, `${id}.json`), Buffer.from(JSON.stringify({ ...envelope, received: this.now().toISOString() }) + '\n'));
      await rename(path.join(tmp, id), path.join(queued, id));
      await rename(path.join(tmp, `${id}.json`), path.join(queued, `${id}.json`));
      await fsyncDir(queued);
    } catch (err) {
      await Promise.all([path.join(tmp, id), path.join(tmp, `${id}.json`), path.join(queued, id)].map((p) => unlink(p).catch(() => {})));
      throw new TempFailure(`cannot queue message: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
    }
    return id;
  }
}

async function writeSynced(file: string, data: NodeJS.ReadableStream | Buffer): Promise<void> {
  const fh = await open(file, 'wx', 0o600);
  try {
    if (Buffer.isBuffer(data)) await fh.writeFile(data);
    else for await (const chunk of data) await fh.write(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    await fh.sync();
  } finally {
    await fh.close();
  }
}
