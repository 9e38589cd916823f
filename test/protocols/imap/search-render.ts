/**
 * SEARCH keys as IMAP command text, for the Dovecot oracle tests, and Dovecot's ESEARCH sets
 * read back.
 */
import type { SearchKey } from '../../../src/protocols/imap/types.js';

/** IMAP syntax for a key; strings go as LITERAL+ literals (so any byte is fine). */
export function render(k: SearchKey): Buffer[] {
  const str = (b: Buffer): Buffer[] => [Buffer.from(`{${b.length}+}\r\n`), b];
  const seqset = (s: { ranges: ReadonlyArray<{ from: number | '*'; to: number | '*' }> }) => s.ranges.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}:${r.to}`)).join(',');
  const date = (d: Date) => `${d.getUTCDate()}-${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()]}-${d.getUTCFullYear()}`;
  const sp = Buffer.from(' ');
  switch (k.kind) {
    case 'all':
      return [Buffer.from('ALL')];
    case 'flag': {
      const sys = /^\\(answered|deleted|draft|flagged|seen|recent)$/i.exec(k.flag);
      if (sys) return [Buffer.from(`${k.set ? '' : 'UN'}${sys[1]!.toUpperCase()}`.replace('UNRECENT', 'OLD'))];
      return [Buffer.from(`${k.set ? 'KEYWORD' : 'UNKEYWORD'} ${k.flag}`)];
    }
    case 'new':
      return [Buffer.from('NEW')];
    case 'old':
      return [Buffer.from('OLD')];
    case 'header':
      return k.key ? [Buffer.from(`${k.key} `), ...str(k.value)] : [Buffer.from('HEADER '), ...str(Buffer.from(k.field)), sp, ...str(k.value)];
    case 'body':
    case 'text':
      return [Buffer.from(`${k.kind.toUpperCase()} `), ...str(k.value)];
    case 'date':
      return [Buffer.from(`${k.which === 'sent' ? 'SENT' : ''}${k.op.toUpperCase()} ${date(k.date)}`)];
    case 'size':
      return [Buffer.from(`${k.op.toUpperCase()} ${k.size}`)];
    case 'uid':
      return [Buffer.from(`UID ${seqset(k.set)}`)];
    case 'seq':
      return [Buffer.from(seqset(k.set))];
    case 'modseq':
      return [Buffer.from(`MODSEQ ${k.modseq}`)];
    case 'not':
      return [Buffer.from('NOT '), ...render(k.key)];
    case 'or':
      return [Buffer.from('OR '), ...render(k.a), sp, ...render(k.b)];
    case 'and':
      return [Buffer.from('('), ...k.keys.flatMap((x, i) => (i ? [sp, ...render(x)] : render(x))), Buffer.from(')')];
  }
}

export function describeKey(k: SearchKey): string {
  return Buffer.concat(render(k)).toString('utf8').replace(/\{\d+\+\}\r\n/g, '');
}

/** `1:3,5` → [1, 2, 3, 5] */
export function expandSet(s: string): number[] {
  const out: number[] = [];
  for (const part of s.split(',')) {
    const [a, b] = part.split(':').map(Number);
    for (let n = a!; n <= (b ?? a!); n++) out.push(n);
  }
  return out;
}

