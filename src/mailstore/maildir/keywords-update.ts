import { readFile, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInput } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/atomic-file.js';
import { addKeyword, nextKeywordsMtime, parseKeywords, serializeKeywords, type KeywordTable } from './keywords-file.js';
import { withUidlistLock } from './uidlist-lock.js';

/**
 * Adds keyword names to a folder's dovecot-keywords while holding dovecot-uidlist.lock, which is
 * the lock Dovecot takes for that file too (maildir-keywords.c). Returns the updated table.
 * More than 26 keywords cannot be stored in Maildir file names: that is an error here (Dovecot
 * would keep them in its index only, which tsmail does not share).
 */
export async function addKeywords(dir: string, names: readonly string[]): Promise<KeywordTable> {
  const file = path.join(dir, 'dovecot-keywords');
  return withUidlistLock(dir, async () => {
    const before = await readFile(file).then((b) => ({ text: b, exists: true }), () => ({ text: Buffer.alloc(0), exists: false }));
    let table = parseKeywords(before.text).table;
    let changed = false;
    for (const name of names) {
      const r = addKeyword(table, name);
      if (!r) throw new InvalidInput('too many keywords in this folder (Maildir allows 26)');
      table = r.table;
      changed ||= r.added;
    }
    if (changed) {
      const prevSec = before.exists ? await stat(file).then((s) => Math.floor(s.mtimeMs / 1000), () => undefined) : undefined;
      await writeFileAtomic(file, serializeKeywords(table), 0o600);
      const t = nextKeywordsMtime(prevSec, Math.floor(Date.now() / 1000));
      await utimes(file, t, t);
    }
    return table;
  });
}
