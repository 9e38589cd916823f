import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, tempDir } from '../helpers/tmp.js';

const script = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));

/**
 * Runs `tsmail ARGS` on a real pseudo-terminal (util-linux `script`), typing each answer only
 * after its prompt appeared, and returns everything the terminal showed.
 */
async function onTerminal(args: string[], answers: string[]): Promise<{ code: number | null; screen: string }> {
  const cmd = [process.execPath, '--import', 'tsx', path.join(repoRoot, 'src/main.ts'), ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn(script!, ['-qec', cmd, '/dev/null'], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  let prompts = 0;
  child.stdout.on('data', (d: Buffer) => {
    screen += d.toString();
    const seen = (screen.match(/password: /gi) ?? []).length;
    while (prompts < seen && prompts < answers.length) child.stdin.write(answers[prompts++] + '\r');
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  child.stdin.destroy();
  return { code, screen };
}

describe.skipIf(!script)('password prompt on a terminal', () => {
  it('asks twice without echo and stores the hash', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const config = path.join(dir, 'c.toml');
      await writeFile(config, 'data_dir = "."\n[directory]\ndomains = ["example.test"]\n');
      const ok = await onTerminal(['user', 'add', 'tty@example.test', '--config', config], ['s3cret-typed', 's3cret-typed']);
      expect(ok.code).toBe(0);
      expect(ok.screen).toMatch(/Password: [\s\S]*Retype password: [\s\S]*added user tty@example.test/);
      expect(ok.screen).not.toContain('s3cret-typed');
      expect(await readFile(path.join(dir, 'users'), 'utf8')).toMatch(/^tty@example\.test:\{SHA512-CRYPT\}\$6\$/);

      const mismatch = await onTerminal(['user', 'add', 'tty2@example.test', '--config', config], ['one', 'two']);
      expect(mismatch.code).toBe(1);
      expect(mismatch.screen).toContain('passwords do not match');
      expect(await readFile(path.join(dir, 'users'), 'utf8')).not.toContain('tty2@');
    } finally {
      await cleanup();
    }
  });
});
