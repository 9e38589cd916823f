import { InvalidInput } from '../../core/errors.js';
import { IMAP_FLAG_LETTERS, LETTER_IMAP_FLAGS, parseFlags, type FlagLetter } from './filename.js';
import { findKeyword, isValidKeyword, keywordLetter, letterIndex, type KeywordTable } from './keywords-file.js';

/**
 * IMAP flags of a file's flag characters, system flags first, in a stable order. `P` (passed)
 * has no IMAP flag in Dovecot: it is neither shown nor changed ($Forwarded is a keyword letter).
 */
export function lettersToImapFlags(flags: string, keywords: KeywordTable): string[] {
  const parsed = parseFlags(flags);
  const out: string[] = [];
  for (const letter of ['R', 'T', 'D', 'F', 'S'] as FlagLetter[]) {
    if (parsed.system.has(letter)) out.push(LETTER_IMAP_FLAGS[letter]!);
  }
  for (const letter of parsed.keywords) {
    const name = keywords[letterIndex(letter)!];
    if (name !== undefined) out.push(name);
  }
  return out;
}

export interface LetterSplit {
  system: Set<FlagLetter>;
  /** Keywords as names; mapping them to letters may need new dovecot-keywords entries. */
  keywords: string[];
}

/** Splits IMAP flags into system letters and keyword names; InvalidInput for what IMAP forbids. */
export function splitImapFlags(flags: readonly string[]): LetterSplit {
  const system = new Set<FlagLetter>();
  const keywords: string[] = [];
  for (const flag of flags) {
    const letter = (IMAP_FLAG_LETTERS as Record<string, FlagLetter>)[capitalizeSystem(flag)];
    if (letter) system.add(letter);
    else if (flag.startsWith('\\')) {
      if (flag.toLowerCase() !== '\\recent') throw new InvalidInput(`unknown system flag ${flag}`);
    } else if (!isValidKeyword(flag)) throw new InvalidInput(`invalid keyword ${JSON.stringify(flag)}`);
    else if (!keywords.includes(flag)) keywords.push(flag);
  }
  return { system, keywords };
}

/** Keyword names → letters with the given table; names not in it are returned as missing. */
export function keywordLetters(names: readonly string[], table: KeywordTable): { letters: string; missing: string[] } {
  let letters = '';
  const missing: string[] = [];
  for (const name of names) {
    const i = findKeyword(table, name);
    if (i === undefined) missing.push(name);
    else letters += keywordLetter(i);
  }
  return { letters, missing };
}

/** System flags are case-insensitive in IMAP (RFC 9051 2.3.2). */
function capitalizeSystem(flag: string): string {
  if (!flag.startsWith('\\') || flag.length < 2) return flag;
  return '\\' + flag[1]!.toUpperCase() + flag.slice(2).toLowerCase();
}
