import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { PasswordHasher, type SchemeName } from '../../src/directory/schemes/index.js';
import { shared } from './helpers.js';

/**
 * The shared fixtures (a Dovecot passwd-file and the four MySQL schemas) name their users'
 * plaintext passwords in a header comment: "Passwords: alice@example.org / alice-pass, ...".
 * Every such user's stored password must verify, and nobody else's password may.
 */
interface Account {
  file: string;
  user: string;
  stored: string;
  password: string;
}

function commentPasswords(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n').filter((l) => /^(#|--).*Passwords:/.test(l))) {
    for (const m of line.matchAll(/([\w.+-]+(?:@[\w.-]+)?) \/ ([\w-]+)/g)) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** [user, stored password] from passwd-file lines or SQL value tuples. */
function storedPasswords(text: string): [string, string][] {
  const rows: [string, string][] = [];
  for (const line of text.split('\n')) {
    if (/^[^#-][^:]*@[^:]*:/.test(line)) {
      const [user, pw] = line.split(':');
      rows.push([user!, pw!]);
    } else if (/^\s*\(/.test(line)) {
      const quoted = [...line.matchAll(/'([^']*)'/g)].map((m) => m[1]!);
      const user = quoted.find((q) => q.includes('@') && !/^[{$]/.test(q));
      const pw = quoted.find((q) => /^[{$]/.test(q));
      if (user !== undefined && pw !== undefined) rows.push([user, pw]);
    }
  }
  return rows;
}

function accounts(file: string): Account[] {
  const text = readFileSync(file, 'utf8');
  const passwords = commentPasswords(text);
  const found: Account[] = [];
  for (const [name, password] of passwords) {
    // Comments may shorten "email3@example.com" to "email3".
    const rows = storedPasswords(text).filter(([u]) => u === name || u.startsWith(`${name}@`));
    expect(rows.length, `${file}: no row for ${name}`).toBeGreaterThan(0);
    for (const [user, stored] of rows) found.push({ file, user, stored, password });
  }
  return found;
}

const schemaDir = shared('fixtures', 'schemas');
const ALL = [
  shared('fixtures', 'passwd-file', 'users'),
  ...readdirSync(schemaDir)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => `${schemaDir}/${f}`),
].flatMap(accounts);

// The schemas that store bare hashes (platform, linode) run Dovecot with default_pass_scheme = SHA512-CRYPT.
const DEFAULT: SchemeName = 'SHA512-CRYPT';

describe('shared fixture passwords', () => {
  const hasher = new PasswordHasher({ defaultScheme: DEFAULT, workers: 2, cacheTtlMs: 0 });
  afterAll(() => hasher.close());

  it('finds the documented accounts', () => {
    const users = new Set(ALL.map((a) => a.user));
    for (const u of ['alice@test.local', 'dave@test.local', 'mo@test.local', 'old@test.local', 'test@test.local',
      'erin@example.org', 'email2@example.com', 'email3@example.com', 'bob@example.com', 'carol@example.net']) {
      expect(users, u).toContain(u);
    }
    const passwords = new Set(ALL.map((a) => a.password));
    for (const p of ['alice-pass', 'bob-pass', 'carol-pass', 'dave-pass', 'erin-pass', 'illegall']) expect(passwords).toContain(p);
  });

  it('verifies every documented password', async () => {
    for (const a of ALL) expect(await hasher.verify(a.stored, a.password), `${a.file} ${a.user}`).toBe(true);
  });

  it('rejects wrong passwords, including the other users\' ones', async () => {
    const all = [...new Set(ALL.map((a) => a.password))];
    for (const a of ALL) {
      for (const wrong of [...all.filter((p) => p !== a.password), `${a.password}x`, a.password.toUpperCase(), '']) {
        expect(await hasher.verify(a.stored, wrong), `${a.user} / ${wrong}`).toBe(false);
      }
    }
  });
});
