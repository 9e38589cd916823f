import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.js';
import { PRESETS, resolveQueries } from './presets.js';

describe('presets', () => {
  it.each(Object.keys(PRESETS) as Array<keyof typeof PRESETS>)('%s compiles to parameterized SQL', (name) => {
    const q = resolveQueries(name, {});
    for (const compiled of [q.domain, q.mailbox, ...q.alias, q.password, q.user, q.aliasDomain]) {
      if (compiled === null) continue;
      expect(compiled.sql).not.toMatch(/%[a-z{]/);
      expect(compiled.params('someone@example.com')?.length).toBeGreaterThan(0);
    }
  });

  it('no preset user query returns a mail or home column', () => {
    for (const preset of Object.values(PRESETS)) {
      expect(preset.queries.user ?? '').not.toMatch(/\bas\s+(mail|home)\b/i);
    }
  });

  it('linode includes email2email and postfixadmin its alias-domain alias query', () => {
    expect(resolveQueries('linode', {}).alias.map((q) => q.sql)).toContain('SELECT email FROM virtual_users WHERE email=?');
    expect(resolveQueries('postfixadmin', {}).alias).toHaveLength(2);
    expect(resolveQueries('postfixadmin', {}).aliasDomain?.sql).toContain('alias_domain=?');
  });

  it('lets overrides replace preset queries and switch optional ones off', () => {
    const q = resolveQueries('platform', { alias: ["SELECT a FROM b WHERE c='%s'", "SELECT d FROM e WHERE f='%u'"], user: '' });
    expect(q.alias.map((c) => c.name)).toEqual(['mysql.queries.alias[0]', 'mysql.queries.alias[1]']);
    expect(q.user).toBeNull();
  });

  it('requires domain, mailbox, alias and password with custom, naming the key', () => {
    expect(() => resolveQueries('custom', { domain: "SELECT 1 WHERE d='%s'", mailbox: "SELECT 1 WHERE m='%s'", alias: "SELECT a WHERE s='%s'" })).toThrow(
      /mysql\.queries\.password is required/,
    );
    expect(() => resolveQueries('custom', {})).toThrow(ConfigError);
    expect(() => resolveQueries('platform', { alias: [] })).toThrow(/mysql\.queries\.alias/);
  });

  it('reports a broken override as ConfigError naming its key', () => {
    expect(() => resolveQueries('linode', { mailbox: "SELECT 1 WHERE x = '%q'" })).toThrow(/mysql\.queries\.mailbox/);
  });
});
