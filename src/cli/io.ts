/** The streams and environment a CLI command uses; tests pass their own. */
export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  env: NodeJS.ProcessEnv;
}

export function processIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** Thrown by commands to end with a message and an exit code (1 unless said otherwise). */
export class CliExit extends Error {
  constructor(message: string, readonly code = 1) {
    super(message);
  }
}
