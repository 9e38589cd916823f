/**
 * The mail store as the protocols see it (IMAP, POP3, LMTP/SMTP delivery). Implemented by the
 * Maildir store in maildir/; protocols import only this file.
 *
 * Errors are the shared ones from core/errors.ts, by meaning: NotFound (no such folder or
 * message), InvalidInput (bad folder name, path tricks, bad flag), QuotaExceeded (append or
 * delivery over quota → NO [OVERQUOTA] / 552 5.2.2), TempFailure (disk full, I/O error, lock
 * timeout → NO [UNAVAILABLE] / 451), PolicyReject (e.g. deleting INBOX).
 */
import type { Readable } from 'node:stream';
import type { QuotaExceeded, TempFailure } from '../core/errors.js';

/** IMAP system flags (RFC 9051 2.3.2) that are stored in the file name. */
export const SYSTEM_FLAGS = ['\\Answered', '\\Deleted', '\\Draft', '\\Flagged', '\\Seen'] as const;
export type SystemFlag = (typeof SYSTEM_FLAGS)[number];

export interface MessageMeta {
  uid: number;
  /** System flags and keywords, e.g. `['\\Seen', '$Forwarded', 'Junk']`. \Recent is session state, not here. */
  flags: string[];
  /** IMAP INTERNALDATE: the file's mtime, as Dovecot uses it. */
  internalDate: Date;
  /** RFC822.SIZE: the size with CRLF line ends (the W= field). */
  size: number;
  /** CONDSTORE mod-sequence of the last change to this message (RFC 7162). */
  modseq: bigint;
}

export interface FolderStatus {
  messages: number;
  recent: number;
  unseen: number;
  uidNext: number;
  uidValidity: number;
  highestModseq: bigint;
  /** Sum of RFC822.SIZE (STATUS SIZE, RFC 8438). */
  size: number;
}

export interface FolderInfo {
  /** IMAP name in UTF-8 with `.` as hierarchy separator; `INBOX` for the inbox. */
  name: string;
  /** `\Noselect`, `\HasChildren`, `\HasNoChildren`, special-use (`\Sent`, `\Trash`, ...). */
  attributes: string[];
  subscribed: boolean;
}

export interface AppendOptions {
  flags?: string[];
  internalDate?: Date;
}

export interface AppendResult {
  uid: number;
  uidValidity: number;
}

export type FlagMode = 'add' | 'remove' | 'replace';

/** What changed in a folder since a session last looked (IDLE, NOOP, unsolicited responses). */
export interface FolderChanges {
  /** UIDs that appeared (new mail, appends, copies from other sessions or outside writers). */
  added: number[];
  /** UIDs whose flags changed, with their new state. */
  flagged: MessageMeta[];
  /** UIDs that disappeared. */
  expunged: number[];
}

/** One open folder, as a session holds it between SELECT and CLOSE. */
export interface Folder {
  readonly name: string;
  status(): FolderStatus;
  /**
   * All messages in UID order: the session's view after the last sync().
   * @deprecated builds an object per message; protocols use count/uidAt/seqOf/meta.
   */
  messages(): readonly MessageMeta[];
  /** Messages in this session's view (after the last sync()); sequence numbers are 1..count(). */
  count(): number;
  /** UID of sequence number `seq` (1-based) in this session's view. */
  uidAt(seq: number): number;
  /** Sequence number of `uid` in this session's view, or 0 when it is not in the view. */
  seqOf(uid: number): number;
  /** The message's current state, or undefined once it has left the folder (expunged elsewhere). */
  meta(uid: number): MessageMeta | undefined;
  /** IMAP4rev1 \Recent: whether this session is the one that first saw the message. */
  isRecent(uid: number): boolean;
  /**
   * Keywords set on at least one message of the view (SELECT's FLAGS), and the sequence number
   * of the first message without \Seen (0: none), computed from the store's own columns rather
   * than a meta() object per message: SELECT of a 100,000-message folder needs both. Optional:
   * without them the session works them out through meta().
   */
  keywordsInUse?(): string[];
  firstUnseen?(): number;
  /**
   * Per-message data derived from the (immutable) message file, e.g. the IMAP ENVELOPE and
   * BODYSTRUCTURE strings, kept in the folder's index and shared by every session, so a big
   * folder is parsed once and not once per client (Dovecot's dovecot.index.cache).
   */
  cacheGet(uid: number, key: string): string | undefined;
  cacheSet(uid: number, key: string, value: string): void;
  /** Picks up changes from other sessions and outside writers (new/ deliveries, Dovecot). */
  sync(): Promise<FolderChanges>;
  /** The message as RFC 5322 bytes with CRLF line ends; `range` in those bytes. */
  read(uid: number, range?: { start: number; end?: number }): Promise<Readable>;
  /** Returns the messages actually changed; `unchangedSince` is CONDSTORE's UNCHANGEDSINCE. */
  setFlags(uids: readonly number[], mode: FlagMode, flags: readonly string[], unchangedSince?: bigint): Promise<{ changed: MessageMeta[]; failed: number[] }>;
  /** Copies keeping flags and internal dates; returns source UID → new UID (COPYUID). */
  copyTo(uids: readonly number[], target: string): Promise<{ uidValidity: number; map: Map<number, number> }>;
  moveTo(uids: readonly number[], target: string): Promise<{ uidValidity: number; map: Map<number, number> }>;
  /** Removes the given UIDs, or every \Deleted message; returns the UIDs removed. */
  expunge(uids?: readonly number[]): Promise<number[]>;
  /** Called (coalesced) when another session or an outside writer changed the folder. */
  onChange(listener: () => void): () => void;
  /**
   * Ends this view (CLOSE, UNSELECT, SELECT of another folder, LOGOUT, a dropped connection):
   * the folder's shared state and its watcher are released once no view has it open, so every
   * opened Folder must be closed. Idempotent.
   */
  close(): Promise<void>;
}

/** One user's mail, opened at login. */
export interface Mailbox {
  list(): Promise<FolderInfo[]>;
  create(name: string): Promise<void>;
  delete(name: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  subscribe(name: string, subscribed: boolean): Promise<void>;
  open(name: string): Promise<Folder>;
  append(name: string, message: Readable | Buffer, opts?: AppendOptions): Promise<AppendResult>;
  /** Status without opening for a session (IMAP STATUS); `recent` counts \Recent messages no session has been given yet, and takes none. */
  status(name: string): Promise<FolderStatus>;
  quota(): Promise<{ usedBytes: number; limitBytes: number | null; usedMessages: number; limitMessages: number | null }>;
  close(): Promise<void>;
}

/** A user's quota limits as the directory gives them; null = no limit. */
export interface QuotaLimits {
  bytes: number | null;
  messages: number | null;
}

/** One INBOX a delivery writes into: the user's mail root (MailUser.maildir) and limits. */
export interface DeliveryTarget {
  root: string;
  quota: QuotaLimits;
}

/** What became of one target of a delivery: stored (null), or why not. */
export type DropResult = null | QuotaExceeded | TempFailure;

/**
 * Local delivery into INBOXes (LMTP, SMTP): the message is written once and shared by every
 * target (hard links), and is durable before deliver() resolves. Folders open in this process
 * (IMAP sessions, IDLE) hear of the new message at once, not from a file system watcher.
 */
export interface MailDrop {
  /**
   * Whether a message of `bytes` still fits the target's quota: the RCPT-time check that
   * Dovecot's lmtp_rcpt_check_quota / quota-status make when the client announced SIZE=.
   * TempFailure when the quota cannot be read.
   */
  fits(target: DeliveryTarget, bytes: number): Promise<boolean>;
  /**
   * One result per target, in order. Rejects (storing nothing) when the message stream fails,
   * e.g. the client went away mid-DATA, or when not even the shared copy could be written.
   */
  deliver(targets: readonly DeliveryTarget[], message: Readable | Buffer): Promise<DropResult[]>;
}
