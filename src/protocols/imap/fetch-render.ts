/**
 * Interim FETCH rendering (UID, FLAGS, INTERNALDATE, RFC822.SIZE, MODSEQ, whole-message and
 * HEADER/TEXT sections), with the signature of fetch/respond.ts's renderFetch, which replaces
 * it. Yields the whole `* seq FETCH (...)` response in pieces.
 */
import type { Folder, MessageMeta } from '../../mailstore/types.js';
import { flagList, flagsWithRecent } from './selected.js';
import type { BodySection, FetchItem } from './types.js';
import { imapDate } from './encoder.js';

export interface RenderOptions {
  utf8: boolean;
  includeModseq: boolean;
  /** IMAP4rev1 sessions see \Recent in FLAGS. */
  rev2?: boolean;
}

export async function* renderFetch(folder: Folder, seq: number, uid: number, items: readonly FetchItem[], opts: RenderOptions): AsyncIterable<Buffer> {
  const m = folder.meta(uid);
  if (!m) return;
  const parts: (string | Buffer)[] = [];
  let message: Buffer | undefined;
  const whole = async () => (message ??= await readAll(folder, uid));
  const ordered = [...items.filter((i) => i.kind === 'UID'), ...items.filter((i) => i.kind !== 'UID')];
  let modseqDone = false;
  for (const item of ordered) {
    switch (item.kind) {
      case 'UID': parts.push(`UID ${uid}`); break;
      case 'FLAGS': parts.push(`FLAGS ${flagList(flagsWithRecent(folder, m, opts.rev2 ?? false))}`); break;
      case 'INTERNALDATE': parts.push(`INTERNALDATE ${imapDate(m.internalDate)}`); break;
      case 'RFC822.SIZE': parts.push(`RFC822.SIZE ${m.size}`); break;
      case 'MODSEQ': parts.push(`MODSEQ (${m.modseq})`); modseqDone = true; break;
      case 'RFC822': parts.push('RFC822 ', literal(await whole())); break;
      case 'RFC822.HEADER': parts.push('RFC822.HEADER ', literal(splitHeader(await whole()).header)); break;
      case 'RFC822.TEXT': parts.push('RFC822.TEXT ', literal(splitHeader(await whole()).body)); break;
      case 'BODY[]': {
        const { name, data } = section(item.section, await whole());
        parts.push(`${name} `, literal(data));
        break;
      }
      default: break; // ENVELOPE, BODYSTRUCTURE, BINARY: renderFetch of fetch/respond.ts
    }
  }
  if (opts.includeModseq && !modseqDone) parts.push(`MODSEQ (${m.modseq})`);
  yield Buffer.from(`* ${seq} FETCH (`);
  let first = true;
  for (const p of parts) {
    const isLiteralBody = Buffer.isBuffer(p);
    if (!first && !isLiteralBody && !(typeof p === 'string' && p.startsWith('{'))) yield Buffer.from(' ');
    yield Buffer.isBuffer(p) ? p : Buffer.from(p);
    first = false;
  }
  yield Buffer.from(')\r\n');
}

/** `{n}\r\n` + bytes as one piece (a Buffer never gets a space before it). */
function literal(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`{${data.length}}\r\n`), data]);
}

function section(s: BodySection, msg: Buffer): { name: string; data: Buffer } {
  let data = msg;
  let spec = s.part.join('.');
  const { header, body } = splitHeader(msg);
  if (s.specifier === 'HEADER') data = header;
  else if (s.specifier === 'TEXT') data = body;
  else if (s.specifier === 'HEADER.FIELDS' || s.specifier === 'HEADER.FIELDS.NOT') data = headerFields(header, s.fields ?? [], s.specifier === 'HEADER.FIELDS.NOT');
  if (s.specifier) spec = spec ? `${spec}.${s.specifier}` : s.specifier;
  if (s.fields) spec += ` (${s.fields.join(' ')})`;
  let name = `BODY[${spec}]`;
  if (s.partial) {
    data = data.subarray(s.partial.offset, s.partial.offset + s.partial.length);
    name += `<${s.partial.offset}>`;
  }
  return { name, data };
}

function splitHeader(msg: Buffer): { header: Buffer; body: Buffer } {
  const i = msg.indexOf('\r\n\r\n');
  if (i < 0) return { header: msg, body: Buffer.alloc(0) };
  return { header: msg.subarray(0, i + 4), body: msg.subarray(i + 4) };
}

function headerFields(header: Buffer, fields: string[], not: boolean): Buffer {
  const want = new Set(fields.map((f) => f.toLowerCase()));
  const lines = header.toString('latin1').split(/\r\n(?![ \t])/);
  const out = lines.filter((l) => {
    const name = l.slice(0, l.indexOf(':')).trim().toLowerCase();
    return l.includes(':') && want.has(name) !== not;
  });
  return Buffer.from(out.map((l) => `${l}\r\n`).join('') + '\r\n', 'latin1');
}

async function readAll(folder: Folder, uid: number): Promise<Buffer> {
  const stream = await folder.read(uid);
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export type { MessageMeta };
