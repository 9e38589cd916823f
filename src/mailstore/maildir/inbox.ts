import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { TempFailure } from '../../core/errors.js';

export interface InboxDirs {
  root: string;
  tmp: string;
  new: string;
  cur: string;
}

/**
 * The INBOX directories of a Maildir, created on first delivery as Dovecot LMTP does (0700, like
 * Dovecot's default for a new mail root). Seed 002 notes what a Maildir without them breaks.
 */
export async function ensureInbox(root: string): Promise<InboxDirs> {
  const dirs = inboxDirs(root);
  try {
    for (const d of [dirs.tmp, dirs.new, dirs.cur]) await mkdir(d, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new TempFailure(`cannot create Maildir ${root}: ${(err as NodeJS.ErrnoException).code ?? 'EIO'}`, err);
  }
  return dirs;
}

export function inboxDirs(root: string): InboxDirs {
  return { root, tmp: path.join(root, 'tmp'), new: path.join(root, 'new'), cur: path.join(root, 'cur') };
}

/**
 * Remembers Maildirs known to exist, so that each delivery does not repeat three mkdir calls
 * (a third of its file system calls). Forget a root when using it failed: it may have been
 * removed behind our back, and the next delivery then creates it again.
 */
export class KnownInboxes {
  private readonly known = new Set<string>();

  constructor(private readonly max = 10_000) {}

  async ensure(root: string): Promise<InboxDirs> {
    if (this.known.has(root)) return inboxDirs(root);
    const dirs = await ensureInbox(root);
    if (this.known.size >= this.max) this.known.clear();
    this.known.add(root);
    return dirs;
  }

  forget(root: string): void {
    this.known.delete(root);
  }
}
