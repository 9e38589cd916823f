/**
 * `dovecot-uidlist`: the UIDs of a Maildir folder (Dovecot 2.3
 * src/lib-storage/index/maildir/maildir-uidlist.c, maildir-uidlist.h).
 *
 * Version 3, what Dovecot 1.1 and later write:
 *
 *   3 V1700000000 N13 G5a19fd38352a046b590d000083ecc375
 *   1 :1700000000.M955541P3417.host,S=28,W=32
 *   5 W999 P:uidl O7 :1700000001.M1P1.host
 *
 * - Header: `3`, then space-separated `<key><value>` fields: `V` UIDVALIDITY, `N` next UID,
 *   `G` mailbox GUID (32 hex digits); any other field (e.g. `P` POP3 UIDL format) is kept and
 *   written back after G in the order read. Dovecot always writes `3 V.. N.. G..[ others]`.
 * - Records: `<uid>[ <ext>...] :<base name>`, UIDs strictly ascending. An ext field is an
 *   uppercase key A-Z and a value up to the next space: `S` file size, `W` size with CRLF (each
 *   only when not in the file name), `P` POP3 UIDL, `O` POP3 order, `G` message GUID. The name
 *   is the rest of the line after ` :`, cut at the first `:` when written (the base name,
 *   see filename.ts), so flag changes never touch this file.
 * - Dovecot appends new records to the end of the file under the lock and does NOT rewrite the
 *   header then, so `N` can be lower than the last UID + 1; the real next UID is the larger one
 *   (maildir_uidlist_update_read). Records of expunged messages stay until the file is rewritten,
 *   which happens when fewer than 75% of them still exist (UIDLIST_COMPRESS_PERCENTAGE).
 * - A last line without LF is an append in progress: not read (i_stream_read_next_line).
 *
 * Version 1 (Dovecot 1.0, Courier's courierimapuiddb): header `1 <uidvalidity> <nextuid>`,
 * records `<uid> <file name>`; read only. Version 2 was never released; Dovecot rejects it.
 *
 * Broken files (maildir_uidlist_read_header, maildir_uidlist_next): a bad header, a record not
 * starting with a UID > 0 and a space, UIDs not ascending, a UID of 2^32-1 or more, an empty name,
 * a name with `/`, a v1 UID not below the header's next UID: the whole file is broken, and
 * Dovecot deletes it and starts a new UIDVALIDITY. Non-fatal, but a reason to rewrite: an ext
 * field with a key outside A-Z (dropped), the same name twice with different UIDs (the later
 * record wins).
 */
import { randomBytes } from 'node:crypto';

export interface UidlistRecord {
  uid: number;
  /** Ext fields as written, e.g. `['W999', 'P:uidl']`: key letter A-Z followed by the value. */
  ext: string[];
  /** The base name: the file name up to the first `:`. */
  base: string;
}

export interface Uidlist {
  /** The version read; serializeUidlist() always writes version 3. */
  version: 1 | 3;
  uidValidity: number;
  /** The header's N value as read (see effectiveNextUid()). */
  nextUid: number;
  /** Mailbox GUID, 32 lowercase hex digits; absent in v1 and in v3 files without G. */
  guid?: string;
  /** Other header fields (`<key><value>`), in file order. */
  headerExt: string[];
  records: UidlistRecord[];
}

export interface UidlistProblem {
  /** 1-based line number. */
  line: number;
  message: string;
}

export interface UidlistParseResult {
  /** Undefined when the file is broken beyond use (see `error`) or empty. */
  uidlist?: Uidlist;
  /** Why the file cannot be used; Dovecot would delete it and start a new UIDVALIDITY. */
  error?: UidlistProblem;
  /** Non-fatal damage; Dovecot rewrites the file when it sees any. */
  warnings: UidlistProblem[];
  /** Whether Dovecot would rewrite the file (old version, no GUID, warnings). */
  rewrite: boolean;
}

const UINT32_MAX = 0xffffffff;
const EXT_KEY = /^[A-Z]/;

/** str_to_uint(): plain decimal digits that fit 32 bits. */
function toUint(s: string): number | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= UINT32_MAX ? n : undefined;
}

function parseHeader(line: string): { header?: Omit<Uidlist, 'records'>; error?: string } {
  if (!/^[0-9] /.test(line)) return { error: 'Corrupted header (invalid version number)' };
  const version = Number(line[0]);
  const rest = line.slice(2);
  let uidValidity = 0;
  let nextUid = 0;
  let guid: string | undefined;
  const headerExt: string[] = [];
  if (version === 1) {
    // sscanf("%u %u"): leading blanks allowed, anything after the second number ignored
    const m = /^\s*([0-9]+)\s+([0-9]+)/.exec(rest);
    if (!m) return { error: 'Corrupted header (version 1)' };
    uidValidity = Number(m[1]) % 2 ** 32;
    nextUid = Number(m[2]) % 2 ** 32;
  } else if (version === 3) {
    for (const field of rest.split(' ')) {
      if (field === '') continue;
      const key = field[0];
      const value = field.slice(1);
      if (key === 'V' || key === 'N') {
        const n = toUint(value);
        if (n === undefined) return { error: `Invalid mailbox ${key === 'V' ? 'UID_VALIDITY' : 'NEXT_UID'}: ${value}` };
        if (key === 'V') uidValidity = n;
        else nextUid = n;
      } else if (key === 'G') {
        if (!/^[0-9a-fA-F]{32}$/.test(value)) return { error: `Invalid mailbox GUID: ${value}` };
        guid = value.toLowerCase();
      } else {
        headerExt.push(field);
      }
    }
  } else {
    return { error: `Unsupported version ${version}` };
  }
  if (uidValidity === 0 || nextUid === 0) return { error: `Broken header (uidvalidity = ${uidValidity}, next_uid=${nextUid})` };
  return { header: { version, uidValidity, nextUid, ...(guid === undefined ? {} : { guid }), headerExt } };
}

export function parseUidlist(input: string | Uint8Array): UidlistParseResult {
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
  const lines = text.split('\n');
  lines.pop(); // after the last LF: empty, or an append in progress
  const warnings: UidlistProblem[] = [];
  if (lines.length === 0) return { warnings, rewrite: true }; // empty file: as if missing
  const strip = (s: string): string => (s.endsWith('\r') ? s.slice(0, -1) : s);

  const { header, error } = parseHeader(strip(lines[0]!));
  if (!header) return { error: { line: 1, message: error! }, warnings, rewrite: true };

  const records: UidlistRecord[] = [];
  const byBase = new Map<string, number>(); // base → index in records
  let prevUid = 0;
  for (let i = 1; i < lines.length; i++) {
    const lineNo = i + 1;
    const fail = (message: string): UidlistParseResult => ({ error: { line: lineNo, message }, warnings, rewrite: true });
    let line = strip(lines[i]!);
    const m = /^[0-9]*/.exec(line)![0];
    const uid = m === '' ? 0 : Number(m);
    line = line.slice(m.length);
    if (uid === 0 || !line.startsWith(' ')) return fail(`Invalid data: ${line}`);
    if (uid <= prevUid) return fail(`UIDs not ordered (${uid} >= ${prevUid})`);
    if (uid >= UINT32_MAX) return fail(`UID too high (${uid})`);
    prevUid = uid;
    if (header.version === 1 && uid >= header.nextUid) return fail(`UID larger than next_uid (${uid} >= ${header.nextUid})`);
    line = line.replace(/^ +/, '');

    const ext: string[] = [];
    if (header.version === 3) {
      // maildir_uidlist_read_extended(): fields until one starts with ':'
      while (line !== '' && !line.startsWith(':')) {
        const sp = line.indexOf(' ');
        const field = sp < 0 ? line : line.slice(0, sp);
        if (EXT_KEY.test(field)) ext.push(field);
        else warnings.push({ line: lineNo, message: `Invalid extension record, removing: ${field}` });
        line = sp < 0 ? '' : line.slice(sp).replace(/^ +/, '');
      }
      if (line.startsWith(':')) line = line.slice(1);
      if (line === '') return fail(`Invalid extended fields: ${line}`);
    }
    if (line.includes('/')) return fail(`Broken filename: ${line}`);

    const base = line.split(':', 1)[0]!;
    const dup = byBase.get(base);
    if (dup !== undefined) {
      warnings.push({ line: lineNo, message: `Duplicate file entry: ${line} (uid ${records[dup]!.uid} -> ${uid})` });
      records.splice(dup, 1);
      for (const [k, v] of byBase) if (v > dup) byBase.set(k, v - 1);
    }
    byBase.set(base, records.length);
    records.push({ uid, ext, base });
  }
  const uidlist: Uidlist = { ...header, records };
  return { uidlist, warnings, rewrite: warnings.length > 0 || header.version !== 3 || header.guid === undefined };
}

/** The next UID to assign: the header's N, or past the last record if Dovecot appended since. */
export function effectiveNextUid(u: Uidlist): number {
  const last = u.records[u.records.length - 1];
  return last === undefined ? u.nextUid : Math.max(u.nextUid, last.uid + 1);
}

/** A new mailbox GUID in Dovecot's text form (guid_128_to_string: 32 lowercase hex digits). */
export function newMailboxGuid(): string {
  return randomBytes(16).toString('hex');
}

function checkRecord(rec: UidlistRecord, prevUid: number): void {
  if (!Number.isInteger(rec.uid) || rec.uid <= prevUid || rec.uid >= UINT32_MAX) throw new RangeError(`bad or unordered UID ${rec.uid}`);
  for (const f of rec.ext) if (!/^[A-Z][^ \n\r]*$/.test(f)) throw new RangeError(`bad ext field ${JSON.stringify(f)}`);
  if (rec.base === '' || /[/\n\r]/.test(rec.base)) throw new RangeError(`bad base name ${JSON.stringify(rec.base)}`);
}

/** One record line as Dovecot writes it (maildir_uidlist_write_fd), for appends. */
export function formatUidlistRecord(rec: UidlistRecord): string {
  checkRecord(rec, 0);
  const ext = rec.ext.map((f) => ` ${f}`).join('');
  return `${rec.uid}${ext} :${rec.base.split(':', 1)[0]}\n`;
}

/** The whole file as Dovecot writes it: always version 3; `guid` must be set. */
export function serializeUidlist(u: Uidlist): string {
  if (u.guid === undefined || !/^[0-9a-f]{32}$/.test(u.guid)) throw new RangeError('uidlist needs a 32-hex-digit mailbox GUID');
  for (const n of [u.uidValidity, u.nextUid]) {
    if (!Number.isInteger(n) || n < 1 || n > UINT32_MAX) throw new RangeError(`bad UIDVALIDITY/next UID ${n}`);
  }
  for (const f of u.headerExt) {
    if (!/^[^ \n\r]+$/.test(f) || 'VNG'.includes(f[0]!)) throw new RangeError(`bad header field ${JSON.stringify(f)}`);
  }
  const ext = u.headerExt.map((f) => ` ${f}`).join('');
  let out = `3 V${u.uidValidity} N${u.nextUid} G${u.guid}${ext}\n`;
  let prev = 0;
  for (const rec of u.records) {
    checkRecord(rec, prev);
    prev = rec.uid;
    out += formatUidlistRecord(rec);
  }
  return out;
}

/** The value of ext field `key` of a record, undefined if absent. */
export function recordExt(rec: UidlistRecord, key: string): string | undefined {
  return rec.ext.find((f) => f[0] === key)?.slice(1);
}

/** A copy of the record with ext field `key` set (appended, like Dovecot) or removed (undefined). */
export function withRecordExt(rec: UidlistRecord, key: string, value: string | undefined): UidlistRecord {
  if (!/^[A-Z]$/.test(key)) throw new RangeError(`bad ext key ${JSON.stringify(key)}`);
  const ext = rec.ext.filter((f) => f[0] !== key);
  if (value !== undefined) ext.push(key + value);
  return { ...rec, ext };
}
