/**
 * IMAP mailbox names ↔ Maildir++ directories, as Dovecot lays them out with
 * `namespace inbox { separator = . }` (the seeds' setup):
 *
 *   INBOX            → <root>                      (the Maildir itself: cur/ new/ tmp/)
 *   Sent             → <root>/.Sent
 *   Archive.2024     → <root>/.Archive.2024        (the whole hierarchy is ONE directory name)
 *   Entwürfe         → <root>/.Entw&APw-rfe        (names are modified UTF-7 on disk, mutf7.ts)
 *   INBOX.child      → <root>/.INBOX.child         (INBOX children are ordinary folders)
 *
 * Checked against doveadm 2.3.19 (`doveadm mailbox create`, test/mailstore/folder-path.test.ts).
 * Parents are implicit: creating `a.b.c` makes only `.a.b.c`, yet `doveadm mailbox list` shows
 * `a` and `a.b` too; LIST must report them as \Noselect parents (parentNames()).
 *
 * Validation follows Dovecot's checks for new names (src/lib-storage/mail-storage.c
 * mailbox_verify_name + mailbox_verify_create_name, mailbox-list.c mailbox_list_is_valid_fs_name)
 * and is stricter where that protects the filesystem or keeps one name ↔ one directory:
 * - `\`, DEL and C1 controls are refused (Dovecot allows them; it refuses only bytes < 0x20);
 * - the on-disk entry `.<mUTF-7 name>` must fit NAME_MAX (255 bytes). Dovecot checks only its
 *   per-level limit (255) and lets mkdir fail with ENAMETOOLONG, reported as "Not found";
 * - a trailing separator is refused. Dovecot's CREATE strips one ("create `a.`" makes `.a`,
 *   RFC 9051 6.3.4); that belongs in the IMAP CREATE command, not here.
 */
import path from 'node:path';
import { InvalidInput } from '../../core/errors.js';
import { encodeMutf7, decodeMutf7, isValidMutf7 } from './mutf7.js';

/** The hierarchy separator of the seeds' Dovecot namespace, also Maildir++'s own. */
export const HIERARCHY_SEPARATOR = '.';
export const INBOX = 'INBOX';
/** Dovecot MAILBOX_LIST_NAME_MAX_LENGTH (PATH_MAX): UTF-8 bytes of the whole name. */
export const MAX_NAME_BYTES = 4096;
/**
 * NAME_MAX of ext4/xfs/btrfs: bytes of the one directory entry `.<mUTF-7 name>`. This also
 * covers Dovecot's MAILBOX_MAX_HIERARCHY_NAME_LENGTH (255 bytes per stored level, mail-storage.c).
 */
export const MAX_DIR_ENTRY_BYTES = 255;

/** ASCII-only case folding, like Dovecot's strcasecmp: `ınbox` (dotless i) is not INBOX. */
function asciiUpper(s: string): string {
  return s.replace(/[a-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 32));
}

/** RFC 9051 5.1: INBOX is case-insensitive. */
export function isInbox(name: string): boolean {
  return name.length === 5 && asciiUpper(name) === INBOX;
}

/**
 * `inbox` → `INBOX`, `Inbox.Foo` → `INBOX.Foo`; everything else unchanged (other names are
 * case-sensitive). Dovecot upper-cases an INBOX prefix too (mail-storage.c mailbox_alloc),
 * which is why `inbox.lower` lands in `.INBOX.lower`.
 */
export function normalizeMailboxName(name: string): string {
  if (isInbox(name)) return INBOX;
  if (name.length > 5 && name[5] === HIERARCHY_SEPARATOR && isInbox(name.slice(0, 5))) return INBOX + name.slice(5);
  return name;
}

function invalid(reason: string, name: string): never {
  throw new InvalidInput(`Invalid mailbox name: ${reason}`, { name });
}

/** Throws InvalidInput (with the reason) unless `name` may be created and opened. */
export function validateMailboxName(name: string): void {
  if (typeof name !== 'string' || name === '') invalid('Name is empty', name);
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) invalid('Mailbox name too long', name);
  for (const ch of name) {
    const cp = ch.codePointAt(0)!;
    // A JS string is UTF-16; a lone surrogate has no UTF-8 form (Dovecot: "not valid UTF-8").
    if (cp >= 0xd800 && cp <= 0xdfff) invalid('Not valid UTF-8 (unpaired surrogate)', name);
    // C0 (incl. NUL), DEL and C1: Unicode category Cc.
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) invalid('Control characters are not allowed', name);
    if (ch === '/') invalid("Name must not have '/' characters", name);
    if (ch === '\\') invalid("Name must not have '\\' characters", name);
  }
  const norm = normalizeMailboxName(name);
  if (norm === INBOX) return;
  // mailbox_verify_name (mail-storage.c): with separator `.`, components `.`/`..` can only
  // appear as empty components, which these three checks refuse.
  if (norm.startsWith(HIERARCHY_SEPARATOR)) invalid('Begins with hierarchy separator', name);
  if (norm.endsWith(HIERARCHY_SEPARATOR)) invalid('Ends with hierarchy separator', name);
  if (norm.includes(HIERARCHY_SEPARATOR + HIERARCHY_SEPARATOR)) invalid('Has adjacent hierarchy separators', name);
  // mailbox_list_is_valid_fs_name: `~user` would mean a home directory with
  // mail_full_filesystem_access=yes, so it is never a plain name.
  if (norm.startsWith('~')) invalid("Begins with '~'", name);
  const stored = encodeMutf7(norm); // ASCII, so length === bytes
  if (1 + stored.length > MAX_DIR_ENTRY_BYTES) invalid(`Mailbox name too long (its directory name would exceed ${MAX_DIR_ENTRY_BYTES} bytes)`, name);
}

/**
 * A name for a new folder (CREATE, RENAME target): validateMailboxName plus what only new names
 * may not have — the LIST wildcards `%` and `*` (Dovecot mailbox_verify_create_name).
 */
export function validateNewMailboxName(name: string): void {
  validateMailboxName(name);
  if (name.includes('%') || name.includes('*')) invalid("Character not allowed in mailbox name: '*' or '%'", name);
}

/** The directory entry under the Maildir root for a validated, normalized non-INBOX name. */
function dirEntryFor(norm: string): string {
  return `.${encodeMutf7(norm)}`;
}

/**
 * The absolute directory of mailbox `name` (UTF-8 IMAP name, `.`-separated) under Maildir `root`.
 * Throws InvalidInput for invalid names; the result is always `root` itself or one entry in it.
 */
export function imapNameToDir(root: string, name: string): string {
  validateMailboxName(name);
  const base = path.resolve(root);
  const norm = normalizeMailboxName(name);
  if (norm === INBOX) return base;
  const entry = dirEntryFor(norm);
  const dir = path.join(base, entry);
  // Belt and braces: validation already excludes `/`, NUL and empty names.
  const rel = path.relative(base, dir);
  if (rel !== entry || rel.includes(path.sep) || path.isAbsolute(rel) || rel === '.' || rel === '..') {
    invalid('Resolves outside the mail directory', name);
  }
  return dir;
}

/**
 * The IMAP name of directory entry `entry` of a Maildir root (e.g. `.Entw&APw-rfe` → `Entwürfe`),
 * or null when it is not a folder tsmail can open. The caller checks that it is a directory.
 *
 * Null for: entries not starting with `.`, `.` and `..`, invalid or non-canonical mUTF-7, names
 * validateMailboxName refuses, and spellings that do not map back to this same entry (`.INBOX`,
 * `.inbox.x`). Dovecot 2.3 lists most of these anyway (raw: `bad&name`, `a..b`, `~home`;
 * `.inbox.x` as `INBOX.x`; lax-decoded `.&AOR-` as `ä`), but then cannot open them because the
 * name maps to a different directory; hiding them avoids folders that fail on SELECT.
 */
export function dirNameToImapName(entry: string): string | null {
  if (!entry.startsWith('.') || entry === '.' || entry === '..') return null;
  const stored = entry.slice(1);
  if (!isValidMutf7(stored)) return null;
  const name = decodeMutf7(stored);
  try {
    validateMailboxName(name);
  } catch (err) {
    if (err instanceof InvalidInput) return null;
    throw err;
  }
  const norm = normalizeMailboxName(name);
  if (norm === INBOX || dirEntryFor(norm) !== entry) return null;
  return name;
}

/** The ancestors of `name`, outermost first: `a.b.c` → [`a`, `a.b`] (for \Noselect/\HasChildren). */
export function parentNames(name: string): string[] {
  const parts = normalizeMailboxName(name).split(HIERARCHY_SEPARATOR);
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join(HIERARCHY_SEPARATOR));
  return out;
}
