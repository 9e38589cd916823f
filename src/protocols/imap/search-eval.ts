/**
 * Interim SEARCH evaluation over flags, UIDs, sequence numbers, sizes and dates, with the
 * signature of search/evaluate.ts's searchFolder, which replaces it. Header/body keys match
 * nothing here.
 */
import type { Folder, MessageMeta } from '../../mailstore/types.js';
import { rangesHave, resolveRanges } from './sequence-set.js';
import type { SearchKey } from './types.js';

export async function searchFolder(folder: Folder, key: SearchKey): Promise<number[]> {
  const out: number[] = [];
  const count = folder.count();
  for (let seq = 1; seq <= count; seq++) {
    const uid = folder.uidAt(seq);
    const m = folder.meta(uid);
    if (m && matches(folder, seq, m, key)) out.push(seq);
  }
  return out;
}

function matches(f: Folder, seq: number, m: MessageMeta, key: SearchKey): boolean {
  switch (key.kind) {
    case 'all': return true;
    case 'flag': {
      const has = key.flag.toLowerCase() === '\\recent' ? f.isRecent(m.uid) : m.flags.some((x) => x.toLowerCase() === key.flag.toLowerCase());
      return has === key.set;
    }
    case 'new': return f.isRecent(m.uid) && !m.flags.includes('\\Seen');
    case 'old': return !f.isRecent(m.uid);
    case 'size': return key.op === 'larger' ? m.size > key.size : m.size < key.size;
    case 'uid': return rangesHave(resolveRanges(key.set, f.uidAt(f.count())), m.uid);
    case 'seq': return rangesHave(resolveRanges(key.set, f.count()), seq);
    case 'modseq': return m.modseq >= key.modseq;
    case 'date': {
      if (key.which !== 'internal') return false;
      const day = Date.UTC(m.internalDate.getFullYear(), m.internalDate.getMonth(), m.internalDate.getDate());
      const t = key.date.getTime();
      return key.op === 'before' ? day < t : key.op === 'on' ? day === t : day >= t;
    }
    case 'not': return !matches(f, seq, m, key.key);
    case 'or': return matches(f, seq, m, key.a) || matches(f, seq, m, key.b);
    case 'and': return key.keys.every((k) => matches(f, seq, m, k));
    default: return false;
  }
}
