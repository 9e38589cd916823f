import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers.js';

/**
 * Production runs compiled JS with no loader: pool.ts must then start worker.js, not the .ts
 * bootstrap. Compiles just this module (and what it imports) to a temp dir and runs it with
 * plain node.
 */
describe('compiled schemes module', () => {
  it('verifies through its .js worker under plain node', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsmail-dist-'));
    try {
      const tsc = path.join(repoRoot, 'node_modules/typescript/bin/tsc');
      execFileSync(process.execPath, [
        tsc, '--outDir', path.join(dir, 'out'), '--rootDir', path.join(repoRoot, 'src'),
        '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--types', 'node',
        '--strict', '--skipLibCheck', path.join(repoRoot, 'src/directory/schemes/index.ts'),
      ], { stdio: 'pipe' });
      const schemes = path.join(dir, 'out/directory/schemes');
      expect(existsSync(path.join(schemes, 'crypt/worker.js'))).toBe(true);
      expect(existsSync(path.join(schemes, 'crypt/worker-tsx.mjs'))).toBe(false);
      symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
      writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
      writeFileSync(
        path.join(dir, 'check.mjs'),
        `import { PasswordHasher } from './out/directory/schemes/index.js';
const h = new PasswordHasher({ defaultScheme: 'SHA512-CRYPT', workers: 2 });
const alice = '$6$sdcbbba29dadb$8v4kUDpNbP5TdjI6RuJYSoALH6R8G58m7BBvic2oBk7hGgSc4xVL6ueCjpA9k.QFvhdEAh/L.Bu0V7lKn4ntA0';
const md5 = await h.hash('pässwörd✓', 'MD5-CRYPT');
console.log(JSON.stringify([await h.verify(alice, 'alice-pass'), await h.verify(alice, 'bob-pass'), await h.verify(md5, 'pässwörd✓')]));
`,
      );
      // No close(): the process must also exit by itself (idle workers are unref()ed).
      const out = execFileSync(process.execPath, [path.join(dir, 'check.mjs')], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
      expect(out.trim()).toBe('[true,false,true]');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
