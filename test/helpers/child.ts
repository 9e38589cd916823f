import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './tmp.js';

/** Starts a TypeScript fixture (path relative to the repository) as its own Node process. */
export function spawnFixture(script: string, args: readonly string[], stdio: StdioOptions = ['ignore', 'pipe', 'inherit']): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, script), ...args], { cwd: repoRoot, stdio });
}

/** Collects everything a stream yields into one Buffer (a message read back from the store). */
export async function readAll(stream: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}

/**
 * Kills `child` at a random moment within `maxDelayMs` after it first wrote to stdout. Fails
 * (instead of hanging the test) if it says nothing for 30 s: e.g. stuck on a lock a killed
 * predecessor left behind.
 */
export async function killSoonAfterFirstOutput(child: ChildProcess, maxDelayMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const spoke = await new Promise<boolean>((resolve) => {
    const first = () => {
      child.stdout!.off('data', first);
      clearTimeout(timer);
      setTimeout(() => resolve(true), Math.random() * maxDelayMs);
    };
    child.stdout!.on('data', first);
    timer = setTimeout(() => resolve(false), 30_000);
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  if (!spoke) throw new Error('child process produced no output for 30 s');
}
