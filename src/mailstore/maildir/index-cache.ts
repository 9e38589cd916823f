/**
 * `tsmail.index`: tsmail's own cache of one folder, next to dovecot-uidlist. It makes opening a
 * big folder after a restart cheap (no stat() per message) and keeps CONDSTORE mod-sequences
 * across restarts. It is only a cache: the Maildir files stay the truth, and a missing, stale or
 * damaged index is simply rebuilt (Dovecot ignores the file).
 *
 *   tsmail-index 1<TAB><uidvalidity><TAB><uidnext><TAB><highestmodseq><TAB><dir signature><TAB><uidlist signature>
 *   <uid><TAB><base><TAB><new|cur><TAB><file><TAB><size><TAB><vsize><TAB><mtime ms><TAB><modseq>
 *   ...
 *
 * Written to a temp file and renamed (readers see the old or the new one); not fsynced, since a
 * lost update only costs a rescan — except that mod-sequences must never go backwards, which the
 * loader guarantees by starting from the current time when it has no index (see below).
 */
import { readFile, rename, writeFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { FolderEntry } from './folder-state.js';

export const INDEX_FILE = 'tsmail.index';
const MAGIC = 'tsmail-index 1';
const SLICE = 5000;

export interface IndexSnapshot {
  uidValidity: number;
  uidNext: number;
  highestModseq: bigint;
  /** signatureOf(dir) and the dovecot-uidlist signature when the snapshot was taken. */
  dirSignature: string;
  uidlistSignature: string;
  entries: FolderEntry[];
}

export async function readIndex(dir: string): Promise<IndexSnapshot | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(dir, INDEX_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const [magic, validity, next, modseq, dirSig, uidlistSig] = (lines[0] ?? '').split('\t');
  if (magic !== MAGIC || !validity || !next || !modseq || dirSig === undefined || uidlistSig === undefined) return undefined;
  const entries: FolderEntry[] = [];
  let prev = 0;
  try {
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      if (line === '') continue;
      const f = line.split('\t');
      if (f.length !== 8) return undefined;
      const uid = Number(f[0]);
      if (!(uid > prev) || (f[2] !== 'new' && f[2] !== 'cur')) return undefined;
      prev = uid;
      const file = f[3]!;
      const colon = file.lastIndexOf(':2,');
      entries.push({
        uid, base: f[1]!, sub: f[2], file, flags: colon < 0 ? '' : file.slice(colon + 3).split(',')[0]!,
        size: Number(f[4]), vsize: Number(f[5]), mtimeMs: Number(f[6]), modseq: BigInt(f[7]!),
      });
    }
    return { uidValidity: Number(validity), uidNext: Number(next), highestModseq: BigInt(modseq), dirSignature: dirSig, uidlistSignature: uidlistSig, entries };
  } catch {
    return undefined; // a damaged number (BigInt throws): rebuild
  }
}

export async function writeIndex(dir: string, snap: IndexSnapshot): Promise<void> {
  const head = [MAGIC, snap.uidValidity, snap.uidNext, snap.highestModseq, snap.dirSignature, snap.uidlistSignature].join('\t');
  const parts = [head + '\n'];
  // In slices, yielding between them: a 100,000-message folder must not stall other sessions.
  for (let i = 0; i < snap.entries.length; i += SLICE) {
    parts.push(snap.entries.slice(i, i + SLICE).map((e) => `${e.uid}\t${e.base}\t${e.sub}\t${e.file}\t${e.size}\t${e.vsize}\t${e.mtimeMs}\t${e.modseq}\n`).join(''));
    await new Promise((r) => setImmediate(r));
  }
  const file = path.join(dir, INDEX_FILE);
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFile(tmp, parts.join(''), { mode: 0o600 });
    await rename(tmp, file);
  } catch {
    await unlink(tmp).catch(() => {});
    // a cache that cannot be written only makes the next cold open slower
  }
}

/**
 * Where mod-sequences start without an index: the current time in microseconds, so a lost or
 * deleted index can never make HIGHESTMODSEQ go backwards for a CONDSTORE client (RFC 7162 3.1.1
 * requires it to increase); clients then simply see every message as changed.
 */
export function modseqFloor(nowMs: number): bigint {
  return BigInt(Math.floor(nowMs)) * 1000n;
}
