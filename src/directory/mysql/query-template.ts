/**
 * Turns a query pasted from a Postfix `mysql:` map or a Dovecot `dovecot-sql.conf.ext` into SQL
 * with `?` parameters. Input never becomes SQL text: a literal that is exactly one placeholder
 * (`'%s'`) becomes `?`, a literal mixing text and placeholders
 * (`'maildir:/var/mail/vhosts/%d/%n'`) becomes `CONCAT('maildir:/var/mail/vhosts/', ?, '/', ?)`,
 * and a bare placeholder in code becomes `?`. Everything else in the query is kept as written,
 * except comments, which are dropped (the server ignores them anyway).
 *
 * Placeholders:
 *  - Postfix, mysql_table(5) / db_common_expand(): `%s` whole key; `%u` local part, or the whole
 *    key when it has no '@'; `%d` domain part; `%1`..`%9` domain labels counted from the right;
 *    `%S %U %D` are the same as the lower-case forms in a query; `%%` a literal '%'. The last '@'
 *    splits the key. The lookup is suppressed (no query, no result) when the query uses a domain
 *    placeholder and the key has no domain, when it uses `%u` and the local part is empty (the
 *    key `@domain`), when the domain has fewer labels than the highest `%1`..`%9`, and for an
 *    empty key.
 *  - Dovecot 2.3 "Variables" (auth variables): `%u`/`%{user}` whole user, `%n`/`%{username}` the
 *    part before the first '@' (the whole user without one), `%d`/`%{domain}` the part after it
 *    (empty without one); modifiers `%L` / `%U` lower/upper-case (`%Lu`); Dovecot 2.4's
 *    `%{user | username}`, `%{user | domain}`, `| lower`, `| upper`; `%%` a literal '%'.
 */
import { ConfigError } from '../../core/errors.js';
import { lexSql, SqlLexError, type Segment } from './sql-lexer.js';

export type Dialect = 'postfix' | 'dovecot';

export interface CompiledQuery {
  /** Where the query came from, e.g. `mysql.queries.domain`; used in messages and logs. */
  readonly name: string;
  readonly dialect: Dialect;
  /** The query as the operator wrote it. */
  readonly template: string;
  /** The SQL sent to the server, with `?` parameters only. */
  readonly sql: string;
  /** Parameter values for one lookup key in `?` order; null when the lookup is suppressed. */
  params(key: string): string[] | null;
}

type Token = { length: number } & ({ literal: string } | { slot: string });

interface DialectRules {
  /** Reads the `%` sequence at `s[i]`. Throws a plain Error describing a bad sequence. */
  read(s: string, i: number): Token;
  /** Values for every slot, or null when the lookup must not run. */
  expand(key: string, used: ReadonlySet<string>): Readonly<Record<string, string>> | null;
}

const postfixRules: DialectRules = {
  read(s, i) {
    const c = s[i + 1];
    if (c === '%') return { length: 2, literal: '%' };
    if (c !== undefined && 'sSuUdD'.includes(c)) return { length: 2, slot: c.toLowerCase() };
    if (c !== undefined && c >= '1' && c <= '9') return { length: 2, slot: c };
    throw new Error(`unknown placeholder "%${c ?? ''}" (Postfix queries know %s %u %d %1..%9 and %%)`);
  },
  expand(key, used) {
    if (key === '') return null;
    const at = key.lastIndexOf('@');
    const local = at >= 0 ? key.slice(0, at) : key;
    const domain = at >= 0 ? key.slice(at + 1) : '';
    const labelSlots = [...used].filter((slot) => /^[1-9]$/.test(slot)).map(Number);
    if ((used.has('d') || labelSlots.length > 0) && domain === '') return null;
    if (used.has('u') && at === 0) return null;
    const values: Record<string, string> = { s: key, u: local, d: domain };
    if (labelSlots.length > 0) {
      const labels = domain.split('.');
      const needed = Math.max(...labelSlots);
      if (labels.length < needed) return null;
      for (let n = 1; n <= needed; n++) {
        const label = labels[labels.length - n]!;
        if (label === '') return null;
        values[String(n)] = label;
      }
    }
    return values;
  },
};

const DOVECOT_SHORT: ReadonlyMap<string, string> = new Map([
  ['u', 'user'],
  ['n', 'username'],
  ['d', 'domain'],
]);
const DOVECOT_LONG: ReadonlySet<string> = new Set(['user', 'username', 'domain']);

function readDovecotBraces(s: string, open: number): { end: number; base: string; caseFilter: string } {
  const close = s.indexOf('}', open);
  if (close < 0) throw new Error('unterminated %{ placeholder');
  const [first = '', ...filters] = s.slice(open + 1, close).split('|').map((p) => p.trim());
  let base = first;
  let caseFilter = '';
  for (const filter of filters) {
    if (base === 'user' && (filter === 'username' || filter === 'domain')) base = filter;
    else if (filter === 'lower') caseFilter = 'L';
    else if (filter === 'upper') caseFilter = 'U';
    else throw new Error(`unsupported filter "${filter}" in %{${s.slice(open + 1, close)}}`);
  }
  if (!DOVECOT_LONG.has(base)) {
    throw new Error(`unknown variable %{${first}} (tsmail knows %{user}, %{username}, %{domain})`);
  }
  return { end: close + 1, base, caseFilter };
}

const dovecotRules: DialectRules = {
  read(s, i) {
    if (s[i + 1] === '%') return { length: 2, literal: '%' };
    let j = i + 1;
    let caseModifier = '';
    while ((s[j] === 'L' || s[j] === 'U') && s[j + 1] !== undefined && /[LUund{]/.test(s[j + 1]!)) {
      caseModifier = s[j]!;
      j++;
    }
    if (s[j] === '{') {
      const { end, base, caseFilter } = readDovecotBraces(s, j);
      return { length: end - i, slot: `${caseFilter || caseModifier}:${base}` };
    }
    const base = DOVECOT_SHORT.get(s[j] ?? '');
    if (base === undefined) {
      throw new Error(`unknown placeholder "${s.slice(i, j + 1)}" (Dovecot queries know %u %n %d %{user} %{username} %{domain} and %%)`);
    }
    return { length: j + 1 - i, slot: `${caseModifier}:${base}` };
  },
  expand(key, used) {
    // Dovecot splits at the first '@' (auth_request_var_expand: %n = t_strcut(user, '@')).
    const at = key.indexOf('@');
    const plain: Record<string, string> = {
      user: key,
      username: at >= 0 ? key.slice(0, at) : key,
      domain: at >= 0 ? key.slice(at + 1) : '',
    };
    const values: Record<string, string> = {};
    for (const slot of used) {
      const [modifier, base = ''] = slot.split(':');
      const value = plain[base] ?? '';
      values[slot] = modifier === 'L' ? value.toLowerCase() : modifier === 'U' ? value.toUpperCase() : value;
    }
    return values;
  },
};

const IDENT_TAIL = /[A-Za-z0-9_$]+$/;

class Compiler {
  sql = '';
  readonly slots: string[] = [];
  /** Set after a ';': only whitespace and comments may follow (one statement per query). */
  private ended = false;

  constructor(private readonly rules: DialectRules) {}

  code(text: string): void {
    for (let i = 0; i < text.length; ) {
      const ch = text[i]!;
      if (this.ended && ch.trim() !== '') throw new Error('only one statement is allowed');
      if (ch === '?') throw new Error("a bare '?' is not allowed: write the placeholder (%s, %u, ...) instead");
      if (ch === ';') this.ended = true;
      if (ch === '%') {
        const token = this.rules.read(text, i);
        if ('literal' in token) this.sql += token.literal;
        else this.bind(token.slot);
        i += token.length;
        continue;
      }
      this.sql += ch;
      i++;
    }
  }

  string(quote: string, body: string): void {
    if (this.ended) throw new Error('only one statement is allowed');
    const parts: Array<{ text: string } | { slot: string }> = [];
    let text = '';
    for (let i = 0; i < body.length; ) {
      const ch = body[i]!;
      if (ch === '\\' && body[i + 1] === '%') {
        // Postfix and Dovecot expand '%' before SQL sees the backslash, so `\%s` would put a
        // backslash in front of the value, which no bound parameter can reproduce.
        const token = this.rules.read(body, i + 1);
        if ('slot' in token) throw new Error('a placeholder right after a backslash cannot be bound');
        text += '\\' + token.literal;
        i += 1 + token.length;
      } else if (ch === '\\') {
        text += body.slice(i, i + 2);
        i += 2;
      } else if (ch === '%') {
        const token = this.rules.read(body, i);
        if ('literal' in token) {
          text += token.literal;
        } else {
          if (text) parts.push({ text });
          text = '';
          parts.push({ slot: token.slot });
        }
        i += token.length;
      } else {
        text += ch;
        i++;
      }
    }
    if (text) parts.push({ text });

    const hasSlot = parts.some((p) => 'slot' in p);
    if (!hasSlot) {
      this.sql += quote + parts.map((p) => ('text' in p ? p.text : '')).join('') + quote;
      return;
    }
    const tail = IDENT_TAIL.exec(this.sql)?.[0];
    if (tail !== undefined) {
      if (/^(?:_.*|[nNxXbB])$/.test(tail)) {
        throw new Error(`a character set introducer (${tail}) before a literal with placeholders is not supported`);
      }
      this.sql += ' ';
    }
    if (parts.length === 1) {
      this.bind((parts[0] as { slot: string }).slot);
      return;
    }
    this.sql += 'CONCAT(';
    parts.forEach((part, index) => {
      if (index > 0) this.sql += ', ';
      if ('slot' in part) this.bind(part.slot);
      else this.sql += quote + part.text + quote;
    });
    this.sql += ')';
  }

  ident(text: string): void {
    if (this.ended) throw new Error('only one statement is allowed');
    for (let i = 0; i < text.length; ) {
      if (text[i] !== '%') {
        this.sql += text[i];
        i++;
        continue;
      }
      const token = this.rules.read(text, i);
      if ('slot' in token) throw new Error('placeholders inside `quoted identifiers` cannot be bound');
      this.sql += token.literal;
      i += token.length;
    }
  }

  private bind(slot: string): void {
    this.sql += '?';
    this.slots.push(slot);
  }
}

function emit(compiler: Compiler, segment: Segment): void {
  switch (segment.kind) {
    case 'code':
      return compiler.code(segment.text);
    case 'string':
      return compiler.string(segment.quote, segment.body);
    case 'ident':
      return compiler.ident(segment.text);
    case 'comment':
      compiler.sql += ' ';
      return;
  }
}

/** Compiles one operator query; throws ConfigError naming `name` when it cannot be used. */
export function compileQuery(name: string, template: string, dialect: Dialect): CompiledQuery {
  const rules = dialect === 'postfix' ? postfixRules : dovecotRules;
  const compiler = new Compiler(rules);
  try {
    if (template.trim() === '') throw new Error('the query is empty');
    for (const segment of lexSql(template)) emit(compiler, segment);
  } catch (err) {
    const reason = err instanceof SqlLexError || err instanceof Error ? err.message : String(err);
    throw new ConfigError(`${name}: ${reason} in query: ${template}`);
  }
  // A pasted query often ends with ';', which a prepared statement does not accept.
  const sql = compiler.sql.trim().replace(/;$/, '').trimEnd();
  const slots = [...compiler.slots];
  const used: ReadonlySet<string> = new Set(slots);
  return Object.freeze({
    name,
    dialect,
    template,
    sql,
    params(key: string): string[] | null {
      const values = rules.expand(key, used);
      if (values === null) return null;
      return slots.map((slot) => values[slot] ?? '');
    },
  });
}
