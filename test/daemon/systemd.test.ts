import { execFile } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot, tempDir } from '../helpers/tmp.js';
import { existsSync } from 'node:fs';

const run = promisify(execFile);
const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
const unit = path.join(repoRoot, 'systemd/tsmail.service');

describe.skipIf(!analyze)('systemd/tsmail.service', () => {
  it('parses without unknown or invalid directives', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await copyFile(unit, path.join(dir, 'tsmail.service'));
      const { stdout, stderr } = await run(analyze!, ['verify', path.join(dir, 'tsmail.service')]).catch((e: { stdout: string; stderr: string }) => e);
      const problems = (stdout + stderr).split('\n')
        // the binary is not installed on a test machine
        .filter((l) => l.trim() && !/is not executable|No such file or directory/.test(l));
      expect(problems).toEqual([]);
    } finally {
      await cleanup();
    }
  });

  it('is hardened: systemd rates its exposure below 2.5 of 10', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await copyFile(unit, path.join(dir, 'tsmail.service'));
      const result = await run(analyze!, ['security', '--offline=true', '--threshold=25', path.join(dir, 'tsmail.service')])
        .then((r) => ({ code: 0, out: r.stdout }), (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }));
      const overall = /Overall exposure level for tsmail.service: ([\d.]+)/.exec(result.out)?.[1];
      expect(Number(overall), result.out.slice(-500)).toBeLessThan(2.5);
      expect(result.code).toBe(0);
    } finally {
      await cleanup();
    }
  });
});
