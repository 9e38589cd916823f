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
  const dirs = { root, tmp: path.join(root, 'tmp'), new: path.join(root, 'new'), cur: path.join(root, 'cur') };
  try {
    for (const d of [dirs.tmp, dirs.new, dirs.cur]) await mkdir(d, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new TempFailure(`cannot create Maildir ${root}: ${(err as NodeJS.ErrnoException).code ?? 'EIO'}`, err);
  }
  return dirs;
}
