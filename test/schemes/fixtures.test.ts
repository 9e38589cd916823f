import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PasswordHasher, SCHEMES, parseStoredPassword, type SchemeName } from '../../src/directory/schemes/index.js';
import { fixturesDir } from '../helpers/tmp.js';

/**
 * The fixtures in test/fixtures (a Dovecot passwd-file and the four MySQL schemas) name their
 * users' plaintext passwords in a header comment: "Passwords: ines@shop.example / ink-ines, ...".
 * Every stored password is documented there, every documented one verifies, and nobody else's
 * password does.
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

const schemaDir = path.join(fixturesDir, 'schemas');
const FILES = [
  path.join(fixturesDir, 'passwd-file', 'users'),
  ...readdirSync(schemaDir)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => path.join(schemaDir, f)),
];
const ALL = FILES.flatMap(accounts);

// The schemas that store bare hashes (platform, linode) run Dovecot with default_pass_scheme = SHA512-CRYPT.
const DEFAULT: SchemeName = 'SHA512-CRYPT';

describe('fixture passwords', () => {
  const hasher = new PasswordHasher({ defaultScheme: DEFAULT, workers: 2, cacheTtlMs: 0 });
  afterAll(() => hasher.close());

  it('finds the documented accounts', () => {
    expect(FILES).toHaveLength(5);
    const users = new Set(ALL.map((a) => a.user));
    for (const u of ['ada@quay.test', 'bruno@quay.test', 'chen@quay.test', 'dalia@quay.test', 'emil@quay.test', 'fatou@quay.test',
      'gerd@quay.test', 'ines@shop.example', 'jonas@shop.example', 'kemal@shop.example', 'lena@shop.example', 'milo@shop.example',
      'paula@lakeside.example', 'rosa@lakeside.example', 'sam@lakeside.example', 'vera@orchard.example', 'walt@orchard.example',
      'yusuf@orchard.example', 'nora@meadow.example', 'otto@meadow.example', 'ruth@meadow.example']) {
      expect(users, u).toContain(u);
    }
    const passwords = new Set(ALL.map((a) => a.password));
    for (const p of ['anchor-ada', 'ferry-fatou', 'gangway-gerd', 'ink-ines', 'kite-kemal', 'slate-sam', 'walnut-walt', 'nettle-nora']) {
      expect(passwords).toContain(p);
    }
  });

  it('documents the password of every stored row', () => {
    for (const file of FILES) {
      const text = readFileSync(file, 'utf8');
      const documented = commentPasswords(text);
      const rows = storedPasswords(text);
      expect(rows.length, file).toBeGreaterThan(0);
      for (const [user] of rows) expect(documented.has(user), `${file}: ${user}`).toBe(true);
    }
  });

  it('covers every scheme tsmail reads', () => {
    const used = new Set(ALL.map((a) => parseStoredPassword(a.stored, DEFAULT).scheme));
    expect([...used].sort()).toEqual([...SCHEMES].sort());
  });

  it('verifies every documented password', async () => {
    for (const a of ALL) expect(await hasher.verify(a.stored, a.password), `${a.file} ${a.user}`).toBe(true);
  });

  // About 500 checks, some 70 of them argon2 or bcrypt cost 10 (0.05-0.3 s each): all queued at once
  // so that the crypt workers and libuv's threads work side by side; the timeout leaves room for a
  // busy machine.
  it('rejects wrong passwords, including the other users\' ones', { timeout: 120_000 }, async () => {
    const all = [...new Set(ALL.map((a) => a.password))];
    const checks = ALL.flatMap((a) =>
      [...all.filter((p) => p !== a.password), `${a.password}x`, a.password.toUpperCase(), ''].map((wrong) => ({ a, wrong })),
    );
    const results = await Promise.all(checks.map(({ a, wrong }) => hasher.verify(a.stored, wrong)));
    checks.forEach(({ a, wrong }, i) => expect(results[i], `${a.user} / ${wrong}`).toBe(false));
  });
});
