/**
 * Maildir message file names, as Dovecot 2.3 writes and reads them.
 *
 *   1700000000.M123456P4242.mail.example.org,S=1234,W=1260:2,FRSab
 *   \___ unique part: <secs>.M<usecs>P<pid>.<host> ___/\ extra /\ info /
 *
 * - base: everything before the FIRST `:` (maildir-filename.c maildir_filename_base_cmp). It
 *   names the message for good: dovecot-uidlist stores it, flag changes only rewrite the info.
 *   Files without an info part (Dovecot's own saves without flags, other MDAs) sit in new/.
 * - extra fields: `,<key>=<value>` after the unique part, any order. `S=` is the file size,
 *   `W=` the size with CRLF line ends (RFC822.SIZE). maildir_filename_get_size() takes the first
 *   `,S=` anywhere in the name, then digits up to `:`, `,` or the end; anything else: no size.
 *   Dovecot writes `,S=<size>,W=<vsize>` in that order (maildir-save.c maildir_get_dest_filename).
 * - info: after the LAST `:` (maildir-filename-flags.c maildir_filename_flags_get). Only `2,`
 *   carries flags: the characters up to the next `,`. `D` Draft, `F` Flagged, `R` Answered (replied),
 *   `S` Seen, `T` Deleted (trashed), `a`..`z` keywords indexed by dovecot-keywords. `P` (passed)
 *   is NOT a flag to Dovecot: it shows no IMAP flag for it and keeps it untouched across flag
 *   changes, like any other unknown character; `$Forwarded` is an ordinary keyword letter there.
 *   Dovecot writes flags sorted by ASCII code (maildir_filename_flags_full_set), so uppercase
 *   letters come first, then keyword letters.
 * - Other writers use other unique parts (`1700000000.12345_1.host`, courier's
 *   `1700000000.Vfd01I1234M5678.host`); they are opaque here, only base/extra/info matter.
 * - The host part: the Maildir spec writes `/` as `\057` and `:` as `\072`. Dovecot itself refuses
 *   to start with `/` in the hostname (lib/hostpid.c) and does not escape `:`; names are compared
 *   as they are, so no unescaping is needed to read them.
 */

export type FlagLetter = 'D' | 'F' | 'P' | 'R' | 'S' | 'T';

/** IMAP system flag → Maildir letter (RFC 9051 2.3.2; maildir-filename-flags.c). */
export const IMAP_FLAG_LETTERS = {
  '\\Draft': 'D',
  '\\Flagged': 'F',
  '\\Answered': 'R',
  '\\Seen': 'S',
  '\\Deleted': 'T',
} as const satisfies Record<string, FlagLetter>;

export type ImapSystemFlag = keyof typeof IMAP_FLAG_LETTERS;

/** Maildir letter → IMAP system flag; `P` has none (see above). */
export const LETTER_IMAP_FLAGS: Readonly<Partial<Record<FlagLetter, ImapSystemFlag>>> = Object.fromEntries(
  Object.entries(IMAP_FLAG_LETTERS).map(([flag, letter]) => [letter, flag]),
);

const FLAG_LETTERS: ReadonlySet<string> = new Set<FlagLetter>(['D', 'F', 'P', 'R', 'S', 'T']);
/** The letters Dovecot owns in the info: replaced on every flag change, never kept from before. */
const DOVECOT_KNOWN = /[DFRSTa-z]/;

export interface MaildirName {
  /** Everything before the first `:`: the message's permanent name, the dovecot-uidlist key. */
  base: string;
  /** Raw text after the last `:` (`2,FS`), undefined without a `:`. */
  info?: string;
  /** The flag characters of a `:2,` info (up to the next `,`), '' otherwise. */
  flags: string;
  /** `,S=`: size on disk. */
  size?: number;
  /** `,W=`: size with CRLF line ends. */
  vsize?: number;
}

/** maildir-filename.c maildir_filename_get_size(): the first `,<key>=` in the whole name. */
function extraSize(name: string, key: 'S' | 'W'): number | undefined {
  const at = name.indexOf(`,${key}=`);
  if (at < 0) return undefined;
  let i = at + 3;
  let value = 0;
  while (i < name.length && name.charCodeAt(i) >= 0x30 && name.charCodeAt(i) <= 0x39) {
    value = value * 10 + (name.charCodeAt(i) - 0x30);
    i++;
  }
  if (i < name.length && name[i] !== ':' && name[i] !== ',') return undefined;
  return Number.isSafeInteger(value) ? value : undefined;
}

export function parseMaildirName(name: string): MaildirName {
  const first = name.indexOf(':');
  const last = name.lastIndexOf(':');
  const result: MaildirName = { base: first < 0 ? name : name.slice(0, first), flags: '' };
  if (last >= 0) {
    result.info = name.slice(last + 1);
    if (result.info.startsWith('2,')) {
      const end = result.info.indexOf(',', 2);
      result.flags = result.info.slice(2, end < 0 ? undefined : end);
    }
  }
  const size = extraSize(name, 'S');
  const vsize = extraSize(name, 'W');
  if (size !== undefined) result.size = size;
  if (vsize !== undefined) result.vsize = vsize;
  return result;
}

export interface ParsedFlags {
  /** D F P R S T found in the flags. */
  system: Set<FlagLetter>;
  /** Keyword letters a..z, sorted, each once. */
  keywords: string;
  /** Any other characters, in their order: kept by Dovecot, meaningless to it. */
  unknown: string;
}

/** Splits the flag characters of parseMaildirName().flags. */
export function parseFlags(flags: string): ParsedFlags {
  const system = new Set<FlagLetter>();
  const keywords = new Set<string>();
  let unknown = '';
  for (const c of flags) {
    if (FLAG_LETTERS.has(c)) system.add(c as FlagLetter);
    else if (c >= 'a' && c <= 'z') keywords.add(c);
    else unknown += c;
  }
  return { system, keywords: [...keywords].sort().join(''), unknown };
}

function checkLetters(system: Iterable<string>, keywordLetters: string): void {
  for (const c of system) if (!FLAG_LETTERS.has(c)) throw new RangeError(`not a Maildir flag letter: ${JSON.stringify(c)}`);
  if (!/^[a-z]*$/.test(keywordLetters)) throw new RangeError(`keyword letters must be a-z: ${JSON.stringify(keywordLetters)}`);
}

function sortedUnique(chars: Iterable<string>): string {
  return [...new Set(chars)].sort().join('');
}

/** The flag characters Dovecot writes for these flags: ASCII order, uppercase before keywords. */
export function formatFlags(system: Iterable<FlagLetter>, keywordLetters = ''): string {
  checkLetters(system, keywordLetters);
  return sortedUnique([...system, ...keywordLetters]);
}

/** `base` + `:2,` + flag characters. */
export function withInfo(base: string, flags: string): string {
  return `${base}:2,${flags}`;
}

/**
 * A new file name for `name` with these flags, as maildir_filename_flags_full_set() makes it:
 * D F R S T and keyword letters are replaced, other characters (`P` included) stay where they are,
 * the new letters are merged in ASCII order, a second `,`-separated flag set is kept as it is.
 * `P` in `system` is added if missing; it is never removed (Dovecot cannot remove it either).
 */
export function setFlags(name: string, system: Iterable<FlagLetter>, keywordLetters = ''): string {
  const sys = [...system];
  checkLetters(sys, keywordLetters);
  const last = name.lastIndexOf(':');
  const base = last < 0 ? name : name.slice(0, last);
  const info = last < 0 ? '' : name.slice(last + 1);
  const old = info.startsWith('2,') ? info.slice(2) : '';
  const end = old.indexOf(',');
  const oldFlags = end < 0 ? old : old.slice(0, end);
  const rest = end < 0 ? '' : old.slice(end);
  const addP = sys.includes('P') && !oldFlags.includes('P');
  const pending = [...sortedUnique([...sys.filter((c) => c !== 'P'), ...(addP ? ['P'] : []), ...keywordLetters])];
  let out = '';
  for (const c of oldFlags) {
    if (DOVECOT_KNOWN.test(c)) continue;
    while (pending.length > 0 && pending[0]! < c) out += pending.shift();
    out += c;
  }
  return `${withInfo(base, out + pending.join(''))}${rest}`;
}

/** `,S=<size>` and, when given, `,W=<vsize>`, in Dovecot's order. */
export function maildirSizeFields(size: number, vsize?: number): string {
  for (const n of [size, vsize]) {
    if (n !== undefined && !(Number.isSafeInteger(n) && n >= 0)) throw new RangeError(`bad message size: ${n}`);
  }
  return vsize === undefined ? `,S=${size}` : `,S=${size},W=${vsize}`;
}

/**
 * The host part of a unique name: `/` → `\057` and `:` → `\072` (the Maildir spec), also `,`
 * (would start an extra field) and control characters (Dovecot ignores names with CR/LF,
 * maildir-uidlist.c maildir_uidlist_sync_next_uid), as three-digit octal escapes.
 */
export function escapeHostname(host: string): string {
  // eslint-disable-next-line no-control-regex
  return host.replace(/[/:,\\\x00-\x1f\x7f]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

export interface UniqueNameInput {
  /** Wall-clock time in milliseconds (Date.now()) or a Date. */
  now: number | Date;
  pid: number;
  hostname: string;
  /** A counter the caller increments for every name it makes (one per store). */
  seq: number;
}

/**
 * `<secs>.M<usecs>P<pid>.<host>`, Dovecot's form (maildir-filename.c maildir_filename_generate).
 * Dovecot keeps microseconds unique within a process by bumping the last value it used; without
 * module state, the caller's counter fills the microseconds instead: usecs = ms * 1000 +
 * seq mod 1000. Names from one process differ while fewer than 1000 are made in one millisecond;
 * secs/usecs still sort in time order, which is how Dovecot orders new mail when it assigns
 * UIDs (maildir_filename_sort_cmp).
 */
export function newUniqueName({ now, pid, hostname, seq }: UniqueNameInput): string {
  const ms = typeof now === 'number' ? now : now.getTime();
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`bad time: ${ms}`);
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`bad sequence number: ${seq}`);
  const secs = Math.floor(ms / 1000);
  const usecs = (ms % 1000) * 1000 + (seq % 1000);
  return `${secs}.M${usecs}P${pid}.${escapeHostname(hostname)}`;
}

function leadingNumber(s: string, from: number): [value: number, end: number] {
  let i = from;
  let v = 0;
  while (i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) v = v * 10 + (s.charCodeAt(i++) - 0x30);
  return [v, i];
}

/** maildir_fname_get_usecs(): the digits after the first `M` of the second dot-part. */
function usecsOf(name: string, from: number): number | undefined {
  if (name[from] !== '.') return undefined;
  for (let i = from + 1; i < name.length && name[i] !== '.' && name[i] !== ':'; i++) {
    if (name[i] === 'M') return leadingNumber(name, i + 1)[0];
  }
  return undefined;
}

/**
 * The order Dovecot gives new files their UIDs in (maildir-filename.c maildir_filename_sort_cmp):
 * by the leading seconds, then the M<usecs> of both (if both have one), then the base names.
 */
export function compareMaildirNames(a: string, b: string): number {
  const [secsA, endA] = leadingNumber(a, 0);
  const [secsB, endB] = leadingNumber(b, 0);
  if (secsA !== secsB) return secsA < secsB ? -1 : 1;
  const ua = usecsOf(a, endA);
  const ub = usecsOf(b, endB);
  if (ua !== undefined && ub !== undefined && ua !== ub) return ua < ub ? -1 : 1;
  const baseA = parseMaildirName(a.slice(endA)).base;
  const baseB = parseMaildirName(b.slice(endB)).base;
  return baseA < baseB ? -1 : baseA > baseB ? 1 : 0;
}
