/**
 * The part of a MIME tree that BODY[section] needs (offsets, sizes, kinds), kept in the folder's
 * shared cache so a client fetching parts of a big message does not make us re-parse it.
 *
 * Cache format (key `mimetree`): JSON of nested arrays `[start, headerSize, bodySize, kind,
 * emptyLine, [children...]]` with kind 0 leaf, 1 multipart, 2 message/rfc822 and emptyLine 1
 * when the header ended with an empty line. Anything unreadable is
 * treated as absent and the message is parsed again.
 */
import type { MimePart, PartKind } from './mime-tree.js';

export interface MimeNode {
  start: number;
  headerSize: number;
  bodySize: number;
  kind: PartKind;
  /** The header ended with an empty line (even one a following boundary line took). */
  hasEmptyLine: boolean;
  children: MimeNode[];
}

const KINDS: PartKind[] = ['leaf', 'multipart', 'message'];

type Packed = [number, number, number, number, number, Packed[]];

function pack(p: MimeNode): Packed {
  return [p.start, p.headerSize, p.bodySize, KINDS.indexOf(p.kind), p.hasEmptyLine ? 1 : 0, p.children.map(pack)];
}

function unpack(v: unknown, depth: number): MimeNode {
  if (!Array.isArray(v) || v.length !== 6 || depth > 200) throw new Error('bad node');
  const [start, headerSize, bodySize, kind, eoh, children] = v as unknown[];
  if (![start, headerSize, bodySize].every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) throw new Error('bad node');
  const k = KINDS[kind as number];
  if (k === undefined || !Array.isArray(children)) throw new Error('bad node');
  return { start: start as number, headerSize: headerSize as number, bodySize: bodySize as number, kind: k, hasEmptyLine: eoh === 1, children: children.map((c) => unpack(c, depth + 1)) };
}

export function encodeTree(root: MimePart | MimeNode): string {
  return JSON.stringify(pack(root));
}

export function decodeTree(s: string): MimeNode | undefined {
  try {
    return unpack(JSON.parse(s), 0);
  } catch {
    return undefined;
  }
}
