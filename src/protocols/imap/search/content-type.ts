/**
 * The bits of a MIME part's Content-Type and Content-Transfer-Encoding that SEARCH needs:
 * `type/subtype` lower-cased, the boundary and the charset. Comments and quoted parameter
 * values are handled; anything unparsable gives an empty type (not text, as Dovecot).
 */
import type { HeaderField } from './header-block.js';

export interface PartType {
  /** `type/subtype`, lower-case; '' when the header is missing or broken. */
  type: string;
  /** Whether the part had a Content-Type header at all. */
  present: boolean;
  boundary?: string;
  charset?: string;
  encoding?: string;
}

const PARAM = /;\s*([^=\s;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)/g;

export function partType(fields: readonly HeaderField[]): PartType {
  let ct: HeaderField | undefined;
  let cte: HeaderField | undefined;
  for (const f of fields) {
    const n = f.name.toLowerCase();
    if (n === 'content-type' && !ct) ct = f;
    else if (n === 'content-transfer-encoding' && !cte) cte = f;
  }
  const out: PartType = { type: '', present: ct !== undefined };
  if (cte) out.encoding = cte.value.replace(/\([^)]*\)/g, '').trim().toLowerCase();
  if (!ct) return out;
  const value = ct.value.replace(/\([^)]*\)/g, '');
  const semi = value.indexOf(';');
  const type = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  if (/^[^\s/]+\/[^\s/]+$/.test(type)) out.type = type;
  for (const m of value.matchAll(PARAM)) {
    const name = m[1]!.toLowerCase();
    let v = m[2]!;
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    if (name === 'boundary' && out.boundary === undefined) out.boundary = v;
    else if (name === 'charset' && out.charset === undefined) out.charset = v;
  }
  return out;
}
