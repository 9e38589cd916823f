import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file (test/schemes/helpers.ts), never hard-coded. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** stdout of a command, or null when the tool is missing or fails (then the test uses constants). */
export function tryRun(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return null;
  }
}

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A UTF-8 password of more than 10 KB (13 bytes × 788 = 10 244 bytes). */
export const LONG_PASSWORD = 'pässwörd✓'.repeat(788);
