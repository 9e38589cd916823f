import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.js';
import { compileQuery } from './query-template.js';

const postfix = (q: string) => compileQuery('test.query', q, 'postfix');
const dovecot = (q: string) => compileQuery('test.query', q, 'dovecot');

describe('Postfix placeholders (mysql_table(5))', () => {
  it('turns a quoted %s into one parameter', () => {
    const q = postfix("SELECT 1 FROM mail_domains WHERE domain_name = '%s' AND is_verified = 1 AND deleted_at IS NULL");
    expect(q.sql).toBe('SELECT 1 FROM mail_domains WHERE domain_name = ? AND is_verified = 1 AND deleted_at IS NULL');
    expect(q.params('example.com')).toEqual(['example.com']);
  });

  it('splits %u and %d at the last @', () => {
    const q = postfix("SELECT x FROM t WHERE u='%u' AND d='%d' AND s='%s'");
    expect(q.sql).toBe('SELECT x FROM t WHERE u=? AND d=? AND s=?');
    expect(q.params('a@b@example.com')).toEqual(['a@b', 'example.com', 'a@b@example.com']);
  });

  it('uses the whole key for %u when there is no @', () => {
    expect(postfix("SELECT 1 WHERE u='%u'").params('postmaster')).toEqual(['postmaster']);
  });

  it('suppresses the lookup when %d is used and the key has no domain', () => {
    const q = postfix("SELECT 1 WHERE u='%u' AND d='%d'");
    expect(q.params('postmaster')).toBeNull();
    expect(q.params('postmaster@')).toBeNull();
    expect(postfix("SELECT 1 WHERE s='%s'").params('postmaster')).toEqual(['postmaster']);
  });

  it('suppresses a %u lookup for a key with an empty local part (@domain)', () => {
    expect(postfix("SELECT 1 WHERE u='%u'").params('@example.com')).toBeNull();
    expect(postfix("SELECT 1 WHERE s='%s'").params('@example.com')).toEqual(['@example.com']);
    expect(postfix("SELECT 1 WHERE d='%d'").params('@example.com')).toEqual(['example.com']);
  });

  it('suppresses every lookup of an empty key', () => {
    expect(postfix("SELECT 1 WHERE s='%s'").params('')).toBeNull();
  });

  it('expands %1..%9 from the right and suppresses keys with too few labels', () => {
    const q = postfix("SELECT 1 WHERE tld='%1' AND sld='%2'");
    expect(q.params('user@mail.example.com')).toEqual(['com', 'example']);
    expect(q.params('user@localhost')).toBeNull();
    expect(q.params('user@.com')).toBeNull();
    expect(q.params('localhost')).toBeNull();
  });

  it('accepts the upper-case forms as the same values', () => {
    expect(postfix("SELECT 1 WHERE a='%S' AND b='%U' AND c='%D'").params('x@y.z')).toEqual(['x@y.z', 'x', 'y.z']);
  });

  it('turns %% into a literal percent, in code and in strings', () => {
    const q = postfix("SELECT id %% 2 FROM t WHERE d LIKE '%%@%d' AND x = '100%%'");
    expect(q.sql).toBe("SELECT id % 2 FROM t WHERE d LIKE CONCAT('%@', ?) AND x = '100%'");
    expect(q.params('a@b.c')).toEqual(['b.c']);
  });

  it('builds CONCAT for literals mixing text and placeholders', () => {
    const q = postfix("SELECT goto FROM alias WHERE address = '%u@x' OR address = CONCAT('%u', '@', target)");
    expect(q.sql).toBe("SELECT goto FROM alias WHERE address = CONCAT(?, '@x') OR address = CONCAT(?, '@', target)");
    expect(q.params('bob@y.z')).toEqual(['bob', 'bob']);
  });

  it('binds a bare placeholder outside literals', () => {
    const q = postfix('SELECT 1 FROM t WHERE n = %s');
    expect(q.sql).toBe('SELECT 1 FROM t WHERE n = ?');
  });

  it('keeps escapes of the surrounding literal intact in CONCAT pieces', () => {
    const q = postfix("SELECT 'it''s %s\\'s', \"say \"\"%u\"\"\"");
    expect(q.sql).toBe("SELECT CONCAT('it''s ', ?, '\\'s'), CONCAT(\"say \"\"\", ?, \"\"\"\")");
  });

  it('leaves quoted identifiers, and strings without placeholders, alone', () => {
    const q = postfix("SELECT `weird%%col`, 'a?b', \"c\" FROM `t` WHERE k = '%s'");
    expect(q.sql).toBe("SELECT `weird%col`, 'a?b', \"c\" FROM `t` WHERE k = ?");
  });

  it('drops comments, including placeholders and quotes inside them', () => {
    const q = postfix("SELECT 1 -- it's %x\nFROM t # don't %y\nWHERE k = '%s' /* '%z */");
    expect(q.sql).toBe('SELECT 1  \nFROM t  \nWHERE k = ?');
    expect(q.params('k')).toEqual(['k']);
  });

  it('treats --x as code (MariaDB needs a space after --)', () => {
    expect(postfix("SELECT 1--1 FROM t WHERE k='%s'").sql).toBe('SELECT 1--1 FROM t WHERE k=?');
  });

  it('lexes executable comments as code', () => {
    expect(postfix("SELECT /*!50000 SQL_NO_CACHE */ 1 FROM t WHERE k='%s'").sql).toBe(
      'SELECT /*!50000 SQL_NO_CACHE */ 1 FROM t WHERE k=?',
    );
  });

  it('separates a CONCAT from a preceding keyword', () => {
    expect(postfix("SELECT'%s'").sql).toBe('SELECT ?');
    expect(postfix("SELECT'a%sb'").sql).toBe("SELECT CONCAT('a', ?, 'b')");
  });

  it('drops one trailing semicolon', () => {
    expect(postfix("SELECT 1 FROM t WHERE k='%s';").sql).toBe('SELECT 1 FROM t WHERE k=?');
    expect(postfix("SELECT 1 FROM t WHERE k='%s' ; -- done").sql).toBe('SELECT 1 FROM t WHERE k=?');
  });

  it('keeps a backslash-escaped percent (LIKE) as written', () => {
    expect(postfix("SELECT 1 WHERE a LIKE '\\%%%s'").sql).toBe("SELECT 1 WHERE a LIKE CONCAT('\\%', ?)");
  });
});

describe('Dovecot placeholders', () => {
  it('expands %u %n %d and the long names, splitting at the first @', () => {
    const q = dovecot("SELECT '%u', '%n', '%d', '%{user}', '%{username}', '%{domain}'");
    expect(q.sql).toBe('SELECT ?, ?, ?, ?, ?, ?');
    expect(q.params('a@b@c.d')).toEqual(['a@b@c.d', 'a', 'b@c.d', 'a@b@c.d', 'a', 'b@c.d']);
  });

  it('gives %n the whole user and %d nothing without a domain, never suppressing', () => {
    expect(dovecot("SELECT '%n', '%d'").params('bob')).toEqual(['bob', '']);
  });

  it('expands the platform user_query mail location into CONCAT', () => {
    const q = dovecot(
      "SELECT email as user, 'maildir:/var/mail/vhosts/%d/%n' as mail FROM mail_mailboxes WHERE email = '%u'",
    );
    expect(q.sql).toBe(
      "SELECT email as user, CONCAT('maildir:/var/mail/vhosts/', ?, '/', ?) as mail FROM mail_mailboxes WHERE email = ?",
    );
    expect(q.params('alice@example.com')).toEqual(['example.com', 'alice', 'alice@example.com']);
  });

  it('applies %L / %U modifiers and 2.4 filters', () => {
    const q = dovecot("SELECT '%Lu', '%Ud', '%L{username}', '%{user | domain}', '%{user|username|upper}'");
    expect(q.params('Ann@Ex.ORG')).toEqual(['ann@ex.org', 'EX.ORG', 'ann', 'Ex.ORG', 'ANN']);
  });

  it('treats %% as a literal percent', () => {
    expect(dovecot("SELECT '100%%', '%u'").sql).toBe("SELECT '100%', ?");
  });
});

describe('configuration errors', () => {
  const bad: Array<[string, 'postfix' | 'dovecot', RegExp]> = [
    ["SELECT 1 WHERE k = '%x'", 'postfix', /unknown placeholder "%x"/],
    ["SELECT 1 WHERE k = '%n'", 'postfix', /unknown placeholder "%n"/],
    ["SELECT 1 WHERE k = '%s", 'postfix', /unterminated string/],
    ['SELECT 1 FROM `t WHERE', 'postfix', /unterminated identifier/],
    ['SELECT 1 /* open', 'postfix', /unterminated comment/],
    ["SELECT 1 WHERE k = '%'", 'postfix', /unknown placeholder/],
    ['SELECT 1 WHERE k = ?', 'postfix', /bare '\?'/],
    ["SELECT 1 WHERE k = '%s'; DELETE FROM t", 'postfix', /one statement/],
    ["SELECT 1; SELECT '%s'", 'postfix', /one statement/],
    ['SELECT `%s` FROM t', 'postfix', /identifiers/],
    ["SELECT 1 WHERE k = N'%s'", 'postfix', /introducer/],
    ["SELECT 1 WHERE k = _utf8mb4'%s'", 'postfix', /introducer/],
    ["SELECT 1 WHERE k = '\\%s'", 'postfix', /backslash/],
    ['   ', 'postfix', /empty/],
    ["SELECT '%s'", 'dovecot', /unknown placeholder "%s"/],
    ["SELECT '%{service}'", 'dovecot', /unknown variable %\{service\}/],
    ["SELECT '%{user | sha1}'", 'dovecot', /unsupported filter/],
    ["SELECT '%{user'", 'dovecot', /unterminated %\{/],
    ["SELECT '%U'", 'dovecot', /unknown placeholder/],
  ];
  it.each(bad)('%s (%s) → ConfigError', (query, dialect, message) => {
    let caught: unknown;
    try {
      compileQuery('mysql.queries.domain', query, dialect);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).toContain('mysql.queries.domain');
  });
});

describe('hostile input only ever appears in params', () => {
  const inputs = [
    "' OR 1=1 --",
    "alice@example.com' -- ",
    "x'); DROP TABLE t; --",
    '\\',
    "\\'",
    '"',
    '`',
    '%',
    '%s%u%d%%',
    '_',
    '\u0000',
    'a\u0000b@c.d',
    '?',
    '/*',
    "'@'--",
  ];
  const templates = [
    postfix("SELECT goto FROM alias WHERE address='%s' AND active = 1"),
    postfix("SELECT goto FROM alias, alias_domain WHERE alias_domain.alias_domain = '%d' AND alias.address = CONCAT('%u', '@', alias_domain.target_domain)"),
    dovecot("SELECT email as user, 'maildir:/var/mail/vhosts/%d/%n' as mail FROM m WHERE email = '%u'"),
  ];
  it.each(inputs)('%j', (input) => {
    for (const template of templates) {
      const before = template.sql;
      const params = template.params(input) ?? [];
      expect(template.sql).toBe(before);
      for (const param of params) expect(input.includes(param)).toBe(true);
      // The SQL is fixed at compile time: no input character can have reached it.
      expect(template.sql).not.toContain(input.length > 1 ? input : '\u0001');
    }
  });

  it('passes values through byte for byte', () => {
    const q = postfix("SELECT 1 WHERE k = '%s'");
    for (const input of inputs) expect(q.params(input)).toEqual(input === '' ? null : [input]);
  });
});
