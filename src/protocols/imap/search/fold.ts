/**
 * Case folding for SEARCH, as Dovecot's default normalizer (`i;unicode-casemap`,
 * uni_utf8_to_decomposed_titlecase) does it: every character is mapped to its (single
 * character) title case and then canonically decomposed. So `café` matches `CAFÉ`, a key
 * `cafe` matches `café` (the accent is a separate combining mark after the `E`), but `wörld`
 * is not found by `world`, just as with Dovecot. `ß` stays `ß` and `ﬁ` stays `ﬁ` (no full
 * case mapping, no compatibility decomposition), again as Dovecot.
 */

const ASCII = /^[\x00-\x7f]*$/;

export function searchFold(s: string): string {
  if (ASCII.test(s)) return s.toUpperCase();
  let out = '';
  for (const ch of s) {
    const up = ch.toUpperCase();
    // A full mapping that yields several characters (ß → SS) is not a simple title case.
    out += up.length === ch.length || [...up].length === 1 ? up : ch;
  }
  return out.normalize('NFD');
}
