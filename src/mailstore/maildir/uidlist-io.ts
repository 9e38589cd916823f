import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TempFailure } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { parseUidlist, type Uidlist } from './uidlist.js';
import { UIDLIST_FILE } from './uidlist-lock.js';

/** Reads dovecot-uidlist; undefined when missing, empty, or broken beyond use (as Dovecot then starts over). */
export async function readUidlist(dir: string, log: Logger): Promise<Uidlist | undefined> {
  let text: Buffer;
  try {
    text = await readFile(path.join(dir, UIDLIST_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TempFailure(`cannot read ${UIDLIST_FILE} in ${dir}`, err);
  }
  const result = parseUidlist(text);
  if (result.error) log.warn({ dir, line: result.error.line, problem: result.error.message }, 'broken dovecot-uidlist; starting a new UIDVALIDITY');
  return result.uidlist;
}

/**
 * Identity of a small file, to notice changes by other processes without reading it. Taken at
 * every folder sync (every command): a direct stat(), see signatureOf in scan.ts.
 */
export async function fileSignature(file: string): Promise<string> {
  try {
    const s = statSync(file, { bigint: true, throwIfNoEntry: false });
    return s ? `${s.ino}:${s.size}:${s.mtimeNs}` : 'none';
  } catch {
    return 'none';
  }
}
