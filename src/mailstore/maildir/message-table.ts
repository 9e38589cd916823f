/**
 * The per-message state of one folder, in UID order, as columns (typed arrays) instead of an
 * object per message: a 100,000-message folder that users keep open all day (IDLE) must cost a
 * few MiB, not hundreds (Dovecot's dovecot.index holds a fixed-size record per message too).
 *
 * Per message: UID, base name (the one string), size (S=), RFC822.SIZE (W=), mtime (INTERNALDATE),
 * modseq, system flag bits (with new/cur and "no info part"), keyword letter bits, and the offset
 * of its newest record in tsmail.cache. The file name is derived from base + flags + sub; the few
 * files whose name is not what Dovecot would write for those flags (other flag order, unknown flag
 * characters, a second info part) keep their real name in a side map.
 */
import { withInfo } from './filename.js';

/** Bits of `sys`: D F P R S T as Dovecot's letters, plus where and how the file is named. */
const LETTER_BITS: Readonly<Record<string, number>> = { D: 1, F: 2, P: 4, R: 8, S: 16, T: 32 };
export const BIT_SEEN = 16;
export const BIT_DELETED = 32;
const BIT_NEW = 64;
const BIT_NO_INFO = 128;
const LETTERS = 'DFPRST';
/** sizes, vsizes, mtimes, cacheHeads, modseqs (8 bytes each), uids, kw (4), sys (1). */
const BYTES_PER_MESSAGE = 5 * 8 + 2 * 4 + 1;

/** RFC 9051 2.3.2 names of the system letters, in the order protocols list them. */
const IMAP_ORDER: readonly (readonly [number, string])[] = [
  [8, '\\Answered'], [32, '\\Deleted'], [1, '\\Draft'], [2, '\\Flagged'], [16, '\\Seen'],
];

export interface MessageRecord {
  uid: number;
  base: string;
  sub: 'new' | 'cur';
  file: string;
  size: number;
  vsize: number;
  mtimeMs: number;
  modseq: bigint;
}

export class MessageTable {
  length = 0;
  uids = new Uint32Array(0);
  bases: string[] = [];
  sizes = new Float64Array(0);
  vsizes = new Float64Array(0);
  mtimes = new Float64Array(0);
  modseqs = new BigUint64Array(0);
  sys = new Uint8Array(0);
  kw = new Uint32Array(0);
  /** Offset + 1 of the message's newest tsmail.cache record; 0 = none. */
  cacheHeads = new Float64Array(0);
  /** uid → real file name, for names not derivable from the columns (rare). */
  private readonly odd = new Map<number, string>();

  /** Index of `uid`, or -1. */
  indexOf(uid: number): number {
    const i = this.lowerBound(uid);
    return i < this.length && this.uids[i] === uid ? i : -1;
  }

  /** First index whose UID is >= uid. */
  lowerBound(uid: number): number {
    let lo = 0;
    let hi = this.length;
    const u = this.uids;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (u[mid]! < uid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Room for `n` messages in all (exactly: shrink() uses it too). All columns are views of ONE
   * ArrayBuffer: a folder costs one allocation, not eight (10,000 folders open in IDLE).
   */
  reserve(want: number): void {
    const n = Math.max(want, this.length);
    if (n === this.uids.length) return;
    // 8-byte columns first, then 4-byte, then 1-byte: every view stays aligned.
    const buf = new ArrayBuffer(n * BYTES_PER_MESSAGE);
    const m = this.length;
    const sizes = new Float64Array(buf, 0, n);
    const vsizes = new Float64Array(buf, n * 8, n);
    const mtimes = new Float64Array(buf, n * 16, n);
    const cacheHeads = new Float64Array(buf, n * 24, n);
    const modseqs = new BigUint64Array(buf, n * 32, n);
    const uids = new Uint32Array(buf, n * 40, n);
    const kw = new Uint32Array(buf, n * 44, n);
    const sys = new Uint8Array(buf, n * 48, n);
    sizes.set(this.sizes.subarray(0, m));
    vsizes.set(this.vsizes.subarray(0, m));
    mtimes.set(this.mtimes.subarray(0, m));
    cacheHeads.set(this.cacheHeads.subarray(0, m));
    modseqs.set(this.modseqs.subarray(0, m));
    uids.set(this.uids.subarray(0, m));
    kw.set(this.kw.subarray(0, m));
    sys.set(this.sys.subarray(0, m));
    Object.assign(this, { sizes, vsizes, mtimes, cacheHeads, modseqs, uids, kw, sys });
  }

  /** Inserts in UID order (appending when it is the highest, the usual case); returns its index. */
  insert(r: MessageRecord): number {
    if (this.length === this.uids.length) this.reserve(Math.max(8, Math.ceil(this.length * 1.5)));
    let i = this.length;
    if (i > 0 && this.uids[i - 1]! >= r.uid) {
      i = this.lowerBound(r.uid);
      for (const col of this.columns()) col.copyWithin(i + 1, i, this.length);
      this.bases.splice(i, 0, r.base);
    } else {
      this.bases.push(r.base);
    }
    this.length++;
    this.uids[i] = r.uid;
    this.sizes[i] = r.size;
    this.vsizes[i] = r.vsize;
    this.mtimes[i] = r.mtimeMs;
    this.modseqs[i] = r.modseq;
    this.cacheHeads[i] = 0;
    this.setFile(i, r.sub, r.file);
    return i;
  }

  /** Removes the messages whose index `drop` says so, keeping the order of the rest. */
  removeWhere(drop: (i: number) => boolean): number[] {
    const removed: number[] = [];
    let w = 0;
    const cols = this.columns();
    for (let r = 0; r < this.length; r++) {
      if (drop(r)) {
        removed.push(this.uids[r]!);
        this.odd.delete(this.uids[r]!);
        continue;
      }
      if (w !== r) {
        for (const col of cols) col[w] = col[r]!;
        this.bases[w] = this.bases[r]!;
      }
      w++;
    }
    this.bases.length = w;
    this.length = w;
    // Give memory back after a big expunge (the arrays only grow otherwise).
    if (this.uids.length > 1024 && w < this.uids.length / 4) this.shrink();
    return removed;
  }

  clear(): void {
    this.removeWhere(() => true);
  }

  /** Trims the spare room (after a bulk load or a big expunge). */
  shrink(): void {
    this.reserve(this.length);
  }

  sub(i: number): 'new' | 'cur' {
    return this.sys[i]! & BIT_NEW ? 'new' : 'cur';
  }

  /** The flag characters of the file name (system and keyword letters, and any unknown ones). */
  flags(i: number): string {
    const odd = this.odd.get(this.uids[i]!);
    return odd === undefined ? lettersOf(this.sys[i]!, this.kw[i]!) : flagsOfName(odd);
  }

  file(i: number): string {
    const odd = this.odd.get(this.uids[i]!);
    if (odd !== undefined) return odd;
    return this.sys[i]! & BIT_NO_INFO ? this.bases[i]! : withInfo(this.bases[i]!, lettersOf(this.sys[i]!, this.kw[i]!));
  }

  /** Records where the file is now; its flag bits follow from the name. */
  setFile(i: number, sub: 'new' | 'cur', file: string): void {
    const base = this.bases[i]!;
    const uid = this.uids[i]!;
    const noInfo = file === base;
    const { sys, kw } = noInfo ? { sys: 0, kw: 0 } : bitsOf(flagsOfName(file));
    this.sys[i] = sys | (sub === 'new' ? BIT_NEW : 0) | (noInfo ? BIT_NO_INFO : 0);
    this.kw[i] = kw;
    if (noInfo || file === withInfo(base, lettersOf(sys, kw))) this.odd.delete(uid);
    else this.odd.set(uid, file);
  }

  /** IMAP flags of message `i`: system flags, then keywords by letter (`keywords[n]` = letter n). */
  imapFlags(i: number, keywords: readonly (string | undefined)[]): string[] {
    const out: string[] = [];
    const s = this.sys[i]!;
    for (const [bit, name] of IMAP_ORDER) if (s & bit) out.push(name);
    let k = this.kw[i]!;
    for (let n = 0; k !== 0; n++, k >>>= 1) {
      if (k & 1) {
        const name = keywords[n];
        if (name !== undefined) out.push(name);
      }
    }
    return out;
  }

  /** Number of messages in odd-name side storage (for tests and memory figures). */
  get oddNames(): number {
    return this.odd.size;
  }

  private columns(): (Uint32Array | Float64Array | BigUint64Array | Uint8Array)[] {
    return [this.uids, this.sizes, this.vsizes, this.mtimes, this.modseqs, this.sys, this.kw, this.cacheHeads];
  }
}

/** The flags part of a file name: after the last `:2,`, up to the next `,`. */
function flagsOfName(file: string): string {
  const last = file.lastIndexOf(':');
  if (last < 0 || !file.startsWith('2,', last + 1)) return '';
  const end = file.indexOf(',', last + 3);
  return file.slice(last + 3, end < 0 ? undefined : end);
}

function bitsOf(flags: string): { sys: number; kw: number } {
  let sys = 0;
  let kw = 0;
  for (let j = 0; j < flags.length; j++) {
    const c = flags.charCodeAt(j);
    if (c >= 0x61 && c <= 0x7a) kw |= 1 << (c - 0x61);
    else sys |= LETTER_BITS[flags[j]!] ?? 0;
  }
  return { sys: sys & 63, kw: kw >>> 0 };
}

/** Dovecot's order: ASCII, so system letters first, then keyword letters a..z. */
function lettersOf(sys: number, kw: number): string {
  let out = '';
  for (let b = 0; b < 6; b++) if (sys & (1 << b)) out += LETTERS[b];
  for (let n = 0; kw !== 0; n++, kw >>>= 1) if (kw & 1) out += String.fromCharCode(0x61 + n);
  return out;
}
