/**
 * Saving one message durably, the way design.md's durability contract requires:
 *   1. write it into `tmp/<unique>` (LF line ends, as Dovecot stores it), fsync, close;
 *   2. hard-link it into each target (`new/` for deliveries, `cur/` with flags for APPEND),
 *      named `<unique>,S=<size>,W=<vsize>[:2,<flags>]` — several recipients share one write;
 *   3. fsync every target directory, then remove the tmp name.
 * Only after step 3 may the caller acknowledge. A crash before it leaves at most a file in tmp/
 * (which Dovecot and tsmail clean up after 36 hours) and never a half-written visible message.
 */
import { constants as fsConstants } from 'node:fs';
import { copyFile, link, open, stat, unlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { TempFailure } from '../../core/errors.js';
import { fsyncDir } from '../../core/atomic-file.js';
import { LfConverter } from './lf-writer.js';

export interface TmpMessage {
  /** Absolute path of the file in tmp/. */
  path: string;
  /** `<unique>,S=<size>,W=<vsize>`: the base name the message keeps in every folder. */
  base: string;
  size: number;
  vsize: number;
}

export interface LinkTarget {
  /** Absolute directory (`<folder>/new` or `<folder>/cur`). */
  dir: string;
  /** Maildir info without the `:2,` (e.g. `S`, `FSa`); null for new/ (no info part). */
  info: string | null;
}

/** Writes `input` to `<tmpDir>/<unique>` with fsync; throws TempFailure on I/O errors (disk full). */
export async function writeTmp(tmpDir: string, unique: string, input: Readable | Buffer): Promise<TmpMessage> {
  const file = path.join(tmpDir, unique);
  const conv = new LfConverter();
  let fh;
  try {
    fh = await open(file, 'wx', 0o600);
  } catch (err) {
    throw ioFailure('create', file, err);
  }
  try {
    const chunks: Iterable<Buffer> | Readable = Buffer.isBuffer(input) ? [input] : input;
    for await (const chunk of chunks as AsyncIterable<Buffer | string>) {
      const out = conv.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      if (out.length) await fh.write(out);
    }
    const tail = conv.end();
    if (tail.length) await fh.write(tail);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(file).catch(() => {});
    throw ioFailure('write', file, err);
  }
  await fh.close();
  return { path: file, base: `${unique},S=${conv.size},W=${conv.vsize}`, size: conv.size, vsize: conv.vsize };
}

/**
 * Links the tmp file into every target, fsyncs the directories, removes the tmp name. Returns
 * the final file names in target order. If a link fails, the links already made are undone.
 */
export async function publish(msg: TmpMessage, targets: readonly LinkTarget[], internalDate?: Date): Promise<string[]> {
  if (internalDate) {
    // The shared inode carries INTERNALDATE as its mtime, as Dovecot does.
    await utimes(msg.path, internalDate, internalDate).catch((err) => {
      throw ioFailure('set time of', msg.path, err);
    });
  }
  const made: string[] = [];
  try {
    for (const t of targets) {
      const name = t.info === null ? msg.base : `${msg.base}:2,${t.info}`;
      const dest = path.join(t.dir, name);
      try {
        await link(msg.path, dest);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        await copyAcross(msg.path, path.join(path.dirname(t.dir), 'tmp', path.basename(msg.path)), dest);
      }
      made.push(dest);
    }
    await Promise.all([...new Set(targets.map((t) => t.dir))].map((d) => fsyncDir(d)));
  } catch (err) {
    await Promise.all(made.map((p) => unlink(p).catch(() => {})));
    throw ioFailure('link', msg.path, err);
  }
  await unlink(msg.path).catch(() => {});
  return made.map((p) => path.basename(p));
}

/**
 * A mailbox on another filesystem cannot share the inode: write a copy into that Maildir's own
 * tmp/ (fsynced), then link it into place, so the same durability rules hold.
 */
async function copyAcross(src: string, tmp: string, dest: string): Promise<void> {
  await copyFile(src, tmp, fsConstants.COPYFILE_EXCL);
  try {
    const fh = await open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    const st = await stat(src);
    await utimes(tmp, st.atime, st.mtime);
    await link(tmp, dest);
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

export async function discard(msg: TmpMessage): Promise<void> {
  await unlink(msg.path).catch(() => {});
}

function ioFailure(what: string, file: string, err: unknown): TempFailure {
  if (err instanceof TempFailure) return err;
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
  return new TempFailure(`cannot ${what} ${path.basename(file)}: ${code}`, err);
}
