/**
 * A message's (or MIME part's) header block split into fields the way Dovecot's header parser
 * gives them to SEARCH (MESSAGE_HEADER_PARSER_FLAG_CLEAN_ONELINE): each folding line break and
 * the one whitespace character after it become a single space; the name is what comes before
 * the colon (trailing whitespace dropped), `middle` the colon and the whitespace after it.
 * Raw 8-bit bytes are read as UTF-8, invalid sequences as U+FFFD, as Dovecot does.
 */

export interface HeaderField {
  name: string;
  middle: string;
  value: string;
  /** A line without a colon: TEXT sees it (as Dovecot's parser makes it a name), HEADER does not. */
  bare?: true;
}

const utf8 = new TextDecoder('utf-8');

export function parseHeaderBlock(block: Buffer | string): HeaderField[] {
  const text = typeof block === 'string' ? block : utf8.decode(block);
  const lines = text.split('\n');
  const out: HeaderField[] = [];
  let cur: HeaderField | null = null;
  for (let line of lines) {
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line === '') break; // end of the header block
    const c = line.charCodeAt(0);
    if ((c === 0x20 || c === 0x09) && cur) {
      cur.value += ' ' + line.slice(1);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon < 0) {
      // Not a header line; Dovecot's parser makes the whole line a name without a value.
      cur = { name: line, middle: '', value: '', bare: true };
      out.push(cur);
      continue;
    }
    let m = colon + 1;
    while (m < line.length && (line[m] === ' ' || line[m] === '\t')) m++;
    cur = { name: line.slice(0, colon).replace(/[ \t]+$/, ''), middle: line.slice(colon, m), value: line.slice(m) };
    out.push(cur);
  }
  return out;
}
