import { createInterface } from 'node:readline';
import { CliExit, type CliIo } from './io.js';

/**
 * Reads a password: from the first line of stdin when it is not a terminal (or with
 * --password-stdin), otherwise from a prompt without echo, asked twice when `confirm`.
 */
export async function readPassword(io: CliIo, opts: { fromStdin: boolean; confirm: boolean }): Promise<string> {
  if (opts.fromStdin || !io.stdin.isTTY) {
    const line = await readFirstLine(io.stdin);
    if (line === null || line === '') throw new CliExit('no password given on standard input');
    return line;
  }
  const first = await prompt(io, 'Password: ');
  if (first === '') throw new CliExit('empty password');
  if (opts.confirm && (await prompt(io, 'Retype password: ')) !== first) throw new CliExit('passwords do not match');
  return first;
}

async function readFirstLine(stream: NodeJS.ReadableStream): Promise<string | null> {
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of rl) return line;
    return null;
  } finally {
    rl.close();
  }
}

async function prompt(io: CliIo, question: string): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadStream;
  // Echo off before the prompt appears, so nothing typed after seeing it is ever shown.
  stdin.setRawMode?.(true);
  stdin.resume();
  io.stderr.write(question);
  let value = '';
  try {
    return await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            return resolve(value);
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            return reject(new CliExit('aborted', 130));
          }
          value = ch === '\u007f' ? value.slice(0, -1) : value + ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode?.(false);
    stdin.pause();
    io.stderr.write('\n');
  }
}
