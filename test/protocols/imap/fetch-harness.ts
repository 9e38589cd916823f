/**
 * Runs the same FETCH against Dovecot and against renderFetch() on one Maildir and returns both
 * responses per message, for byte-exact comparison.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { silentLogger } from '../../../src/core/logger.js';
import { MaildirStore } from '../../../src/mailstore/maildir/store.js';
import type { Folder, Mailbox } from '../../../src/mailstore/types.js';
import { parseMime, type MimePart } from '../../../src/protocols/imap/fetch/mime-tree.js';
import { findPart } from '../../../src/protocols/imap/fetch/sections.js';
import { renderFetch } from '../../../src/protocols/imap/fetch/respond.js';
import type { BodySection, FetchItem } from '../../../src/protocols/imap/types.js';
import { readAll } from '../../helpers/child.js';
import { dovecotImap, fetchResponses, taggedReplies } from '../../helpers/dovecot-imap.js';

/** A FETCH item as IMAP text (for Dovecot) and as the parser's typed value (for us). */
export interface ItemSpec {
  text: string;
  item: FetchItem;
}

export const simple = (kind: 'UID' | 'INTERNALDATE' | 'RFC822.SIZE' | 'ENVELOPE' | 'BODY' | 'BODYSTRUCTURE'): ItemSpec => ({ text: kind, item: { kind } });

export function peek(part: number[], specifier?: BodySection['specifier'], fields?: string[], partial?: { offset: number; length: number }): ItemSpec {
  let sec = part.join('.');
  if (specifier) sec += `${sec ? '.' : ''}${specifier}${fields ? ` (${fields.join(' ')})` : ''}`;
  const text = `BODY.PEEK[${sec}]${partial ? `<${partial.offset}.${partial.length}>` : ''}`;
  const section: BodySection = { part, peek: true };
  if (specifier) section.specifier = specifier;
  if (fields) section.fields = fields;
  if (partial) section.partial = partial;
  return { text, item: { kind: 'BODY[]', section } };
}

/** Part numbers of every part a client could name, message/rfc822 contents included. */
export function partPaths(root: MimePart): Array<{ path: number[]; message: boolean }> {
  const out: Array<{ path: number[]; message: boolean }> = [];
  const queue: number[][] = [[]];
  while (queue.length > 0 && out.length < 200) {
    const prefix = queue.shift()!;
    if (prefix.length >= 16) continue;
    const at = findPart(root, prefix)!;
    const inner = prefix.length > 0 && at.kind === 'message' ? at.children[0]! : at;
    const count = inner.kind === 'multipart' ? inner.children.length : 1;
    for (let n = 1; n <= count && out.length < 200; n++) {
      const path = [...prefix, n];
      const part = findPart(root, path);
      if (!part) continue;
      out.push({ path, message: part.kind === 'message' });
      // Going on past a leaf names nothing new (1.1.1... of a text part is empty).
      if (part.kind !== 'leaf' && !(part === at && inner === at && part.kind !== 'message')) queue.push(path);
    }
  }
  return out;
}

/** Every section worth asking of a message with this tree. */
export function sectionsFor(root: MimePart): ItemSpec[] {
  const items: ItemSpec[] = [
    peek([]),
    peek([], 'HEADER'),
    peek([], 'TEXT'),
    peek([], 'HEADER.FIELDS', ['From', 'subject', 'X-LAST', 'Content-Type', 'X-None']),
    peek([], 'HEADER.FIELDS.NOT', ['From', 'Subject', 'To']),
    peek([], undefined, undefined, { offset: 0, length: 10 }),
    peek([], 'TEXT', undefined, { offset: 3, length: 7 }),
    peek([], undefined, undefined, { offset: 1_000_000, length: 5 }),
    peek([1]),
    peek([1], 'MIME'),
    peek([1], undefined, undefined, { offset: 1, length: 5 }),
    peek([9]),
    peek([1, 9, 1]),
  ];
  for (const { path, message } of partPaths(root)) {
    items.push(peek(path), peek(path, 'MIME'));
    if (!message) continue;
    items.push(peek(path, 'HEADER'), peek(path, 'TEXT'), peek(path, 'HEADER.FIELDS', ['SUBJECT', 'From']));
    // Known difference: for an encapsulated header without its empty line, Dovecot's
    // HEADER.FIELDS.NOT runs on past the header into the rest of the file; we stop at its end.
    if ((findPart(root, path) as MimePart).children[0]!.hasEmptyLine) items.push(peek(path, 'HEADER.FIELDS.NOT', ['Subject']));
  }
  return items;
}

export interface OracleRun {
  folder: Folder;
  /** Both answers to the given items, per sequence number. */
  compare(itemsFor: (seq: number, tree: MimePart) => ItemSpec[]): Promise<Array<{ seq: number; dovecot: Buffer; ours: Buffer }>>;
  close(): Promise<void>;
}

/** Writes `messages` into a new Maildir at `dir` and opens it with the store. */
export async function oracleRun(dir: string, messages: readonly Buffer[]): Promise<OracleRun> {
  for (const d of ['cur', 'new', 'tmp']) await mkdir(path.join(dir, d), { recursive: true });
  await chmod(path.dirname(dir), 0o755); // Dovecot runs as nobody when we are root
  let i = 0;
  for (const m of messages) await writeFile(path.join(dir, 'cur', `${1_700_000_000 + i++}.M1P1.oracle:2,`), m);
  const store = new MaildirStore({ log: silentLogger, hostname: 'oracle' });
  const box: Mailbox = await store.openMailbox(dir);
  const folder = await box.open('INBOX');
  const dovecot = await dovecotImap(dir);

  async function compare(itemsFor: (seq: number, tree: MimePart) => ItemSpec[]) {
    const commands = ['s SELECT INBOX'];
    const ours = new Map<number, Buffer>();
    for (let seq = 1; seq <= folder.count(); seq++) {
      const uid = folder.uidAt(seq);
      const tree = await parseMime(await folder.read(uid));
      const specs = itemsFor(seq, tree);
      commands.push(`f${seq} FETCH ${seq} (${specs.map((s) => s.text).join(' ')})`);
      ours.set(seq, await readAll(renderFetch(folder, seq, uid, specs.map((s) => s.item), { utf8: false, includeModseq: false })));
    }
    const output = await dovecot.run(commands, { awaitLast: true });
    const tagged = taggedReplies(output);
    for (let seq = 1; seq <= folder.count(); seq++) {
      if (!tagged.get(`f${seq}`)?.startsWith(`f${seq} OK`)) throw new Error(`Dovecot refused FETCH ${seq}: ${tagged.get(`f${seq}`)}\n${commands[seq]}\n…${output.subarray(-1500).toString('latin1')}`);
    }
    const byseq = fetchResponses(output);
    return [...ours].map(([seq, buf]) => ({ seq, dovecot: Buffer.concat(byseq.get(seq) ?? []), ours: buf }));
  }

  return {
    folder,
    compare,
    close: async () => {
      await dovecot.cleanup();
      await box.close();
    },
  };
}

/** A readable side-by-side of where two responses part. */
export function firstDifference(a: Buffer, b: Buffer): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const show = (x: Buffer) => JSON.stringify(x.subarray(Math.max(0, i - 80), i + 80).toString('latin1'));
  return `at byte ${i}:\n dovecot: ${show(a)}\n ours:    ${show(b)}`;
}
