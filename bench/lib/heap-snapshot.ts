/**
 * Heap snapshots (V8's .heapsnapshot JSON, as v8.writeHeapSnapshot() writes it) reduced to
 * "how many objects of each kind and how many bytes", and the difference of two: what grew.
 * Objects are grouped by constructor name, closures by function name, everything else by V8's
 * node type ("(string)", "(code)", "(array)", ...). Self sizes only: enough to see which kind of
 * object accumulates; the retainer path is then one look in DevTools away.
 */
import { readFile } from 'node:fs/promises';

export interface Kind {
  count: number;
  bytes: number;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export async function summarizeSnapshot(file: string): Promise<Map<string, Kind>> {
  const snap = JSON.parse(await readFile(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const kinds = new Map<string, Kind>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!] ?? '?';
    const key = type === 'object' || type === 'closure' ? `${snap.strings[snap.nodes[i + nameAt]!]}${type === 'closure' ? '()' : ''}` : `(${type})`;
    const k = kinds.get(key) ?? { count: 0, bytes: 0 };
    k.count++;
    k.bytes += snap.nodes[i + sizeAt]!;
    kinds.set(key, k);
  }
  return kinds;
}

export interface Growth {
  kind: string;
  count: number;
  bytes: number;
}

/** The kinds whose total self size grew most from `a` to `b` (largest first). */
export function growth(a: Map<string, Kind>, b: Map<string, Kind>, top = 12): Growth[] {
  const out: Growth[] = [];
  for (const [kind, k] of b) {
    const before = a.get(kind) ?? { count: 0, bytes: 0 };
    out.push({ kind, count: k.count - before.count, bytes: k.bytes - before.bytes });
  }
  return out.sort((x, y) => y.bytes - x.bytes).slice(0, top);
}
