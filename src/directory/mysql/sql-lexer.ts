/**
 * Just enough of MySQL/MariaDB's lexical structure to know where an operator's query has string
 * literals, quoted identifiers and comments, so that placeholders can be found and replaced by
 * bound parameters without ever splicing input into SQL text.
 *
 * Rules (MariaDB "Comment Syntax", "String Literals", "Identifier Names"; default sql_mode):
 *  - `'...'` and `"..."` are string literals; inside, the quote is escaped by doubling it or
 *    by a backslash, and a backslash escapes any following character.
 *  - `` `...` `` is a quoted identifier; a backtick inside is doubled.
 *  - `#` and `-- ` (two dashes followed by whitespace/control or the end) comment to end of line;
 *    `/* ... *\/` is a comment, except `/*!...*\/` and `/*M!...*\/`, whose content is executed as
 *    code by the server and is therefore lexed as code here.
 * Everything else is code.
 */

export type Segment =
  | { kind: 'code'; text: string }
  /** `body` is the raw source between the quotes, escapes left as written. */
  | { kind: 'string'; quote: "'" | '"'; body: string }
  /** Including the surrounding backticks. */
  | { kind: 'ident'; text: string }
  | { kind: 'comment'; text: string };

export class SqlLexError extends Error {}

function isDashCommentEnd(ch: string | undefined): boolean {
  // MariaDB: "--" starts a comment only when followed by whitespace or a control character.
  return ch === undefined || ch <= ' ';
}

/** Index just past the closing quote of a literal opened at `start`. */
function scanQuoted(sql: string, start: number, quote: string, backslash: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    const ch = sql[i]!;
    if (backslash && ch === '\\') {
      i += 2;
      continue;
    }
    if (ch === quote) {
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  throw new SqlLexError(`unterminated ${quote === '`' ? 'identifier' : 'string'} starting at offset ${start}`);
}

export function lexSql(sql: string): Segment[] {
  const out: Segment[] = [];
  let code = '';
  let inExecutableComment = false;
  const flushCode = (): void => {
    if (code) out.push({ kind: 'code', text: code });
    code = '';
  };

  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    const next = sql[i + 1];
    if (ch === "'" || ch === '"') {
      const end = scanQuoted(sql, i, ch, true);
      flushCode();
      out.push({ kind: 'string', quote: ch, body: sql.slice(i + 1, end - 1) });
      i = end;
    } else if (ch === '`') {
      const end = scanQuoted(sql, i, '`', false);
      flushCode();
      out.push({ kind: 'ident', text: sql.slice(i, end) });
      i = end;
    } else if (ch === '#' || (ch === '-' && next === '-' && isDashCommentEnd(sql[i + 2]))) {
      let end = sql.indexOf('\n', i);
      if (end < 0) end = sql.length;
      flushCode();
      out.push({ kind: 'comment', text: sql.slice(i, end) });
      i = end;
    } else if (ch === '/' && next === '*') {
      const executable = sql[i + 2] === '!' || (sql[i + 2] === 'M' && sql[i + 3] === '!');
      if (executable) {
        if (inExecutableComment) throw new SqlLexError(`nested /*! comment at offset ${i}`);
        inExecutableComment = true;
        const openerLength = sql[i + 2] === '!' ? 3 : 4;
        code += sql.slice(i, i + openerLength);
        i += openerLength;
        continue;
      }
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw new SqlLexError(`unterminated comment starting at offset ${i}`);
      flushCode();
      out.push({ kind: 'comment', text: sql.slice(i, end + 2) });
      i = end + 2;
    } else if (ch === '*' && next === '/' && inExecutableComment) {
      inExecutableComment = false;
      code += '*/';
      i += 2;
    } else {
      code += ch;
      i++;
    }
  }
  if (inExecutableComment) throw new SqlLexError('unterminated /*! comment');
  flushCode();
  return out;
}
