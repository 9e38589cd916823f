/**
 * `dovecot-keywords`: which IMAP keyword each Maildir keyword letter stands for, one folder each
 * (Dovecot 2.3 src/lib-storage/index/maildir/maildir-keywords.c).
 *
 *   0 Junk
 *   1 $Forwarded
 *   4 Work
 *
 * - One `<index> <name>\n` line per keyword; index 0..25 is the letter `a`..`z` in file names.
 *   Dovecot writes the used indexes in ascending order (maildir_keywords_write_fd), gaps allowed.
 * - Reading (maildir_keywords_sync): the index is the text before the first space and must be
 *   plain decimal digits below 26 (str_to_uint), the name is the rest of the line and must not be
 *   empty; any other line is skipped. A later line for the same index wins. Names are matched
 *   case-insensitively (strcasecmp hash). A last line without LF is not read.
 * - A new keyword takes the first free index (maildir_keywords_lookup_or_create); with all 26
 *   taken it cannot be stored in file names at all.
 * - A letter found in a file name without a line here gets the name `unknown-<index>` (plus `?`
 *   until unique), and Dovecot writes that name into the file (maildir_keywords_char_idx).
 * - New keyword names must be IMAP atoms (mail-storage.c mailbox_keyword_is_valid, lib-imap
 *   IS_ATOM_SPECIAL: no CTL, SP, 8-bit, `( ) { " \ ] % *`) of at most 50 bytes
 *   (mail_max_keyword_length). Existing names are used as they are.
 * - Dovecot replaces the file through a dotlock while holding the dovecot-uidlist lock, and
 *   re-reads it only when its mtime (seconds) changed, so every write must move the mtime
 *   forward: see nextKeywordsMtime().
 */

export const MAX_KEYWORDS = 26;
/** Dovecot's default mail_max_keyword_length. */
export const MAX_KEYWORD_LENGTH = 50;

/** Index → name; `undefined` for a free index. Always MAX_KEYWORDS entries. */
export type KeywordTable = readonly (string | undefined)[];

export function emptyKeywordTable(): KeywordTable {
  return Array.from({ length: MAX_KEYWORDS }, () => undefined);
}

export function keywordLetter(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_KEYWORDS) throw new RangeError(`keyword index out of range: ${index}`);
  return String.fromCharCode(0x61 + index);
}

/** The index of a keyword letter, undefined for anything but a..z. */
export function letterIndex(letter: string): number | undefined {
  return letter.length === 1 && letter >= 'a' && letter <= 'z' ? letter.charCodeAt(0) - 0x61 : undefined;
}

export interface KeywordsParseResult {
  table: KeywordTable;
  /** 1-based numbers of the lines Dovecot would skip (blank lines included). */
  skippedLines: number[];
}

export function parseKeywords(input: string | Uint8Array): KeywordsParseResult {
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
  const table: (string | undefined)[] = [...emptyKeywordTable()];
  const skippedLines: number[] = [];
  const lines = text.split('\n');
  lines.pop(); // the text after the last LF: empty, or an unfinished line Dovecot does not read
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const sp = line.indexOf(' ');
    const idx = sp > 0 && /^[0-9]+$/.test(line.slice(0, sp)) ? Number(line.slice(0, sp)) : NaN;
    const name = line.slice(sp + 1);
    if (sp < 0 || !(idx < MAX_KEYWORDS) || name === '') skippedLines.push(i + 1);
    else table[idx] = name;
  });
  return { table, skippedLines };
}

/** The file as Dovecot writes it. */
export function serializeKeywords(table: KeywordTable): string {
  let out = '';
  table.forEach((name, i) => {
    if (i >= MAX_KEYWORDS) throw new RangeError(`keyword index out of range: ${i}`);
    if (name !== undefined) {
      if (name === '' || /[\r\n]/.test(name)) throw new RangeError(`keyword name cannot be stored: ${JSON.stringify(name)}`);
      out += `${i} ${name}\n`;
    }
  });
  return out;
}

function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** The index of `name` (ASCII case-insensitive, lowest index first), undefined if absent. */
export function findKeyword(table: KeywordTable, name: string): number | undefined {
  const want = asciiLower(name);
  const i = table.findIndex((n) => n !== undefined && asciiLower(n) === want);
  return i < 0 ? undefined : i;
}

/** Whether Dovecot would create a keyword with this name. */
export function isValidKeyword(name: string): boolean {
  // lib-imap imap-arg.h IS_ATOM_SPECIAL; 8-bit is rejected too ("8bit characters in keyword")
  return name.length > 0 && name.length <= MAX_KEYWORD_LENGTH && /^[\x21-\x7e]+$/.test(name) && !/[(){"\\\]%*]/.test(name);
}

export interface AddKeywordResult {
  table: KeywordTable;
  index: number;
  letter: string;
  /** False when the name was already there (table unchanged). */
  added: boolean;
}

/**
 * The letter for `name`, adding it at the first free index when new. Returns undefined when all
 * 26 letters are taken (Dovecot then keeps the keyword in its index only). Throws RangeError for
 * a name Dovecot would refuse to create.
 */
export function addKeyword(table: KeywordTable, name: string): AddKeywordResult | undefined {
  const existing = findKeyword(table, name);
  if (existing !== undefined) return { table, index: existing, letter: keywordLetter(existing), added: false };
  if (!isValidKeyword(name)) throw new RangeError(`invalid keyword: ${JSON.stringify(name)}`);
  const free = table.findIndex((n) => n === undefined);
  if (free < 0 || free >= MAX_KEYWORDS) return undefined;
  const next = [...table];
  next[free] = name;
  return { table: next, index: free, letter: keywordLetter(free), added: true };
}

/**
 * A name for a letter that has no line in the file, as Dovecot makes one: `unknown-<index>`,
 * with `?` appended until no other index has it. Store it at that index.
 */
export function lostKeywordName(table: KeywordTable, index: number): string {
  keywordLetter(index);
  let name = `unknown-${index}`;
  while (findKeyword(table, name) !== undefined) name += '?';
  return name;
}

/**
 * The mtime (seconds) to give a rewritten file: Dovecot readers skip a file whose mtime equals
 * the one they last read, so it must grow even for two writes within one second
 * (maildir_keywords_write_fd: "mtime must grow every time").
 */
export function nextKeywordsMtime(previousMtimeSec: number | undefined, nowSec: number): number {
  if (previousMtimeSec === undefined || nowSec > previousMtimeSec) return nowSec;
  return previousMtimeSec + 1;
}
