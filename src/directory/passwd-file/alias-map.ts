/**
 * Postfix-style text alias map (virtual(5), as `texthash:` reads it):
 *
 *   # comment
 *   info@example.test      alice@example.test
 *   team@example.test      alice@example.test, bob@example.test
 *   @example.test          catchall@example.test
 *
 * A logical line starts with non-whitespace; a line starting with whitespace continues the
 * previous one. Destinations are separated by commas and/or whitespace. A trailing `:` on the
 * key is tolerated for people coming from /etc/aliases. Keys are matched case-insensitively.
 */
import type { AliasEntry } from '../types.js';

export function parseAliasMap(text: string): AliasEntry[] {
  const logical: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    if (/^\s/.test(line) && logical.length > 0) logical[logical.length - 1] += ' ' + line.trim();
    else logical.push(line.trim());
  }
  const entries: AliasEntry[] = [];
  for (const line of logical) {
    const m = /^(\S+?):?\s+(.+)$/.exec(line);
    if (!m) continue;
    const destinations = m[2]!.split(/[\s,]+/).filter(Boolean);
    if (destinations.length) entries.push({ source: m[1]!.toLowerCase(), destinations });
  }
  return entries;
}

export function formatAliasMap(entries: readonly AliasEntry[]): string {
  const width = Math.min(40, Math.max(0, ...entries.map((e) => e.source.length)));
  return entries.map((e) => `${e.source.padEnd(width)}  ${e.destinations.join(', ')}\n`).join('');
}

/** One domain per line; `#` comments. */
export function parseDomainList(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.replace(/#.*/, '').trim().toLowerCase()).filter(Boolean);
}
