/**
 * `subscriptions`: the subscribed folders of a mail root (Dovecot 2.3
 * src/lib-storage/list/subscription-file.c), one name per line.
 *
 * Version 2, what Dovecot 2.3 writes for a new file (the first 5 bytes are `V\t2\n\n`):
 *
 *   V<TAB>2
 *   <empty line>
 *   INBOX
 *   Archive<TAB>2024
 *   &ANw-n&AO8-code &- Co
 *
 *   Hierarchy levels are separated by TAB; inside a level, tab-escaping (lib/strescape.c
 *   str_append_tabescaped) writes \x01 as \x01 `1`, TAB as \x01 `t`, CR as \x01 `r`, LF as \x01 `n`.
 * Version 1 (no header): the names as they are, levels separated by the Maildir++ separator `.`.
 *   Dovecot keeps writing version 1 to a file that has it (subsfile_set_subscribed copies the
 *   version it read), so callers pass the version back in.
 *
 * Names are storage names: modified UTF-7 (RFC 3501 5.1.3) unless the mail location has the
 * UTF-8 option. A name that is not valid modified UTF-7 is shown as it is, as Dovecot's
 * mailbox_list_default_get_vname does. `INBOX` is written in upper case whatever the spelling.
 * A last line without LF is read (i_stream_set_return_partial_line). The file is replaced through
 * `subscriptions.lock` (file_dotlock_replace, 30 s stale timeout): that I/O belongs to the store.
 *
 * This file speaks IMAP names: UTF-8, `.` as hierarchy separator.
 */
import { decodeMutf7, encodeMutf7, isValidMutf7 } from './mutf7.js';

const V2_HEADER = 'V\t2\n\n';
const SEP = '.';

export interface SubscriptionsOptions {
  /** Names on disk in UTF-8 (Dovecot `mail_location = ...:UTF-8`) instead of modified UTF-7. */
  utf8?: boolean;
}

export interface SubscriptionsParseResult {
  /** 2 for a file starting with `V\t2\n\n`, 1 otherwise (also for a missing or empty file). */
  version: 1 | 2;
  /** IMAP names, file order, each once. */
  names: string[];
  /** Storage names that were not valid modified UTF-7 (present in `names` as they are). */
  undecodable: string[];
}

function tabUnescape(s: string): string {
  return s.replace(/\x01(.)/gs, (_, c: string) => ({ '1': '\x01', t: '\t', r: '\r', n: '\n' })[c] ?? c);
}

function tabEscape(s: string): string {
  return s.replace(/[\x01\t\r\n]/g, (c) => `\x01${{ '\x01': '1', '\t': 't', '\r': 'r', '\n': 'n' }[c]}`);
}

function normalizeInbox(name: string): string {
  return name.toUpperCase() === 'INBOX' ? 'INBOX' : name;
}

export function parseSubscriptions(input: string | Uint8Array, opts: SubscriptionsOptions = {}): SubscriptionsParseResult {
  let text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
  const version = text.startsWith(V2_HEADER) ? 2 : 1;
  if (version === 2) text = text.slice(V2_HEADER.length);
  const names: string[] = [];
  const undecodable: string[] = [];
  const seen = new Set<string>();
  for (let line of text.split('\n')) {
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line === '') continue;
    const storage = version === 2 ? line.split('\t').map(tabUnescape).join(SEP) : line;
    let name = storage;
    if (!opts.utf8) {
      if (isValidMutf7(storage)) name = decodeMutf7(storage);
      else undecodable.push(storage);
    }
    name = normalizeInbox(name);
    if (!seen.has(name)) {
      seen.add(name);
      names.push(name);
    }
  }
  return { version, names, undecodable };
}

/**
 * The file for these IMAP names, as Dovecot writes it. Use the version parseSubscriptions()
 * reported for an existing file; 2 for a new one. Throws InvalidInput (from the modified UTF-7
 * encoder) for names that cannot be stored, RangeError for an empty name or a line break in v1.
 */
export function serializeSubscriptions(names: Iterable<string>, version: 1 | 2 = 2, opts: SubscriptionsOptions = {}): string {
  let out = version === 2 ? V2_HEADER : '';
  const seen = new Set<string>();
  for (const raw of names) {
    const name = normalizeInbox(raw);
    if (name === '') throw new RangeError('empty mailbox name');
    if (seen.has(name)) continue;
    seen.add(name);
    const storage = opts.utf8 ? name : encodeMutf7(name);
    if (version === 1 && /[\r\n]/.test(storage)) throw new RangeError(`a version 1 subscriptions file cannot hold ${JSON.stringify(name)}`);
    out += `${version === 2 ? storage.split(SEP).map(tabEscape).join('\t') : storage}\n`;
  }
  return out;
}

/**
 * The list after subscribing or unsubscribing `name`, as subsfile_set_subscribed changes the
 * file: a new subscription goes to the end, an unsubscribe removes the line, order otherwise kept.
 */
export function setSubscribed(names: readonly string[], name: string, subscribed: boolean): string[] {
  const n = normalizeInbox(name);
  const rest = names.filter((x) => normalizeInbox(x) !== n);
  return subscribed ? (rest.length === names.length ? [...names, n] : [...names]) : rest;
}
