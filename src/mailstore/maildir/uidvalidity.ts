/**
 * UIDVALIDITY for a new folder, shared with Dovecot the way Dovecot 2.3 shares it between its
 * processes (lib-storage/mailbox-uidvalidity.c): the mail root holds `dovecot-uidvalidity` (the
 * last value handed out, 8 lowercase hex digits, no newline) and an empty marker file
 * `dovecot-uidvalidity.<hex>` of the same value. Taking the next value renames the marker to the
 * new value: only one process can win that rename, so two processes (or tsmail and Dovecot) never
 * give two folders the same UIDVALIDITY, and a folder deleted and re-created in the same second
 * still gets a new one. The value is max(now, last + 1), in seconds, as Dovecot's.
 */
import { open, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

const FILE = 'dovecot-uidvalidity';
const hex = (n: number) => n.toString(16).padStart(8, '0');

export async function nextUidValidity(root: string, nowSec: number): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const current = await currentValue(root);
    const next = Math.max(nowSec, (current ?? 0) + 1) >>> 0 || 1;
    try {
      if (current === undefined) {
        const fh = await open(path.join(root, `${FILE}.${hex(next)}`), 'wx', 0o444);
        await fh.close();
      } else {
        await rename(path.join(root, `${FILE}.${hex(current)}`), path.join(root, `${FILE}.${hex(next)}`));
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EEXIST') continue; // another process moved it first
      return next; // cannot coordinate (read-only root?): the time-based value is still sane
    }
    await writeFile(path.join(root, FILE), hex(next), { mode: 0o600 }).catch(() => {});
    return next;
  }
  return Math.max(nowSec, 1);
}

/** The last value: the marker file is the truth (the plain file may lag behind after a crash). */
async function currentValue(root: string): Promise<number | undefined> {
  const cached = await readFile(path.join(root, FILE), 'utf8').then((t) => Number.parseInt(t.trim(), 16), () => NaN);
  const entries = await readdir(root).catch(() => [] as string[]);
  let best: number | undefined;
  for (const e of entries) {
    const m = /^dovecot-uidvalidity\.([0-9a-f]{8})$/.exec(e);
    if (m) best = Math.max(best ?? 0, Number.parseInt(m[1]!, 16));
  }
  if (best !== undefined && Number.isFinite(cached) && cached === best) return cached;
  return best;
}
