/**
 * Reads one command from the client: its line(s) with literals inline (RFC 9051 4.3), sending
 * `+ OK` for synchronizing literals and none for LITERAL+ ones (RFC 7888). APPEND's message
 * literal is not read here: the command's head comes back and the caller streams the literal.
 * Limits as Dovecot's: a line over `maxLine` is refused (`BAD`, the connection kept), a literal
 * inside a command over `maxLiteral` is refused before the client sends it.
 */
import type { SocketInput } from './input.js';
import { parseAppendHead } from './parser.js';
import type { AppendHead } from './types.js';

export interface ReadLimits {
  maxLine: number;
  /** A literal inside a command other than APPEND's message (a LOGIN password, a SEARCH string). */
  maxLiteral: number;
  /** The whole command, literals included. */
  maxCommand: number;
}

export type ReadResult =
  | { kind: 'command'; frame: Buffer }
  | { kind: 'append'; head: AppendHead }
  | { kind: 'append-bad'; tag?: string; message: string; literal: { size: number; nonSync: boolean } }
  /** Refused without closing: `* BAD` or `tag BAD` (tag when it could be read). */
  | { kind: 'bad'; tag?: string; message: string }
  /** Refused and the connection must close (a non-synchronizing literal too large to skip). */
  | { kind: 'fatal'; message: string }
  | { kind: 'gone' };

const LITERAL_AT_END = /\{(\d{1,20})(\+)?\}\r?\n$/;

export async function readCommand(input: SocketInput, writeContinuation: () => void, limits: ReadLimits, utf8: boolean): Promise<ReadResult> {
  const parts: Buffer[] = [];
  let total = 0;
  for (;;) {
    const line = await input.line(limits.maxLine);
    if (line === null) return { kind: 'gone' };
    if (!Buffer.isBuffer(line)) return { kind: 'bad', ...tagOf(parts), message: 'Too long argument.' };
    parts.push(line);
    total += line.length;
    const m = LITERAL_AT_END.exec(line.subarray(-30).toString('latin1'));
    if (!m) return { kind: 'command', frame: Buffer.concat(parts) };
    const size = Number(m[1]);
    const nonSync = m[2] === '+';
    if (parts.length === 1 && /^\S+ APPEND /i.test(line.toString('latin1', 0, 64))) {
      const head = parseAppendHead(Buffer.concat(parts), { utf8Accept: utf8 });
      if (head.ok) return { kind: 'append', head: head.head };
      return { kind: 'append-bad', ...(head.tag !== undefined ? { tag: head.tag } : {}), message: head.message, literal: { size, nonSync } };
    }
    if (parts.length > 1 && /^\S+ APPEND /i.test(parts[0]!.toString('latin1', 0, 64))) {
      const head = parseAppendHead(Buffer.concat(parts), { utf8Accept: utf8 });
      if (head.ok) return { kind: 'append', head: head.head };
    }
    if (size > limits.maxLiteral || total + size > limits.maxCommand) {
      // RFC 7888 4: a non-synchronizing literal cannot be refused before it comes.
      if (nonSync) return { kind: 'fatal', message: 'Too long argument.' };
      return { kind: 'bad', ...tagOf(parts), message: 'Too long argument.' };
    }
    if (!nonSync) writeContinuation();
    const data = await input.bytes(size);
    if (data === null) return { kind: 'gone' };
    parts.push(data);
    total += size;
  }
}

function tagOf(parts: Buffer[]): { tag?: string } {
  if (!parts.length) return {};
  const m = /^([^\s(){%*"\\\]]+) /.exec(parts[0]!.toString('latin1', 0, 100));
  return m ? { tag: m[1]! } : {};
}
