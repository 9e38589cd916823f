/**
 * IMAP commands as typed values: what parser.ts produces from the bytes of one command and what
 * commands/<verb>.ts receive. Nothing here touches sockets or the store.
 *
 * Strings that carry user data the server compares byte-wise (passwords, header values to search)
 * are Buffers; mailbox names are already decoded to UTF-8 (from modified UTF-7, or as UTF-8 once
 * UTF8=ACCEPT is enabled) with `INBOX` in any case normalised to `INBOX` (RFC 9051 5.1).
 */

/** One end of a sequence range: a number, or `*` (the largest number in use). */
export type SeqNumber = number | '*';

/** RFC 9051 9 `sequence-set`: ranges as written (`4:2` stays 4:2; resolve with the mailbox size). */
export interface SequenceSet {
  ranges: ReadonlyArray<{ from: SeqNumber; to: SeqNumber }>;
}

export type StatusItem = 'MESSAGES' | 'RECENT' | 'UIDNEXT' | 'UIDVALIDITY' | 'UNSEEN' | 'HIGHESTMODSEQ' | 'SIZE' | 'DELETED';

/** RFC 9051 6.4.4 search keys. Dates are calendar days (`dd-Mon-yyyy`) as UTC midnight. */
export type SearchKey =
  | { kind: 'all' }
  | { kind: 'flag'; flag: string; set: boolean } // ANSWERED/UNANSWERED, DELETED, DRAFT, FLAGGED, SEEN, RECENT, NEW(=RECENT UNSEEN handled as and), OLD, KEYWORD/UNKEYWORD
  | { kind: 'new' }
  | { kind: 'old' }
  /**
   * BCC/CC/FROM/SUBJECT/TO map to header too, with `key` set: Dovecot matches those against the
   * normalised address list / the value with whitespace runs compressed, HEADER against the value.
   */
  | { kind: 'header'; field: string; value: Buffer; key?: 'BCC' | 'CC' | 'FROM' | 'SUBJECT' | 'TO' }
  | { kind: 'body'; value: Buffer }
  | { kind: 'text'; value: Buffer }
  | { kind: 'date'; which: 'internal' | 'sent'; op: 'before' | 'on' | 'since'; date: Date }
  | { kind: 'size'; op: 'larger' | 'smaller'; size: number }
  | { kind: 'uid'; set: SequenceSet }
  | { kind: 'seq'; set: SequenceSet }
  | { kind: 'modseq'; modseq: bigint }
  | { kind: 'not'; key: SearchKey }
  | { kind: 'or'; a: SearchKey; b: SearchKey }
  | { kind: 'and'; keys: SearchKey[] };

/** RFC 9051 6.4.4.1 / RFC 4731 ESEARCH `RETURN (...)` options. */
export type SearchReturn = 'MIN' | 'MAX' | 'ALL' | 'COUNT' | 'SAVE';

/** `BODY[<section>]<<partial>>` as parsed; `part` is the dotted number list (empty = whole message). */
export interface BodySection {
  part: number[];
  /** Absent: the whole part (or message). */
  specifier?: 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';
  /** Field names for HEADER.FIELDS (NOT), as written (compare case-insensitively). */
  fields?: string[];
  partial?: { offset: number; length: number };
  /** BODY.PEEK / BINARY.PEEK: do not set \Seen. */
  peek: boolean;
}

export type FetchItem =
  | { kind: 'UID' }
  | { kind: 'FLAGS' }
  | { kind: 'INTERNALDATE' }
  | { kind: 'RFC822.SIZE' }
  | { kind: 'ENVELOPE' }
  | { kind: 'BODY' } // non-extensible BODYSTRUCTURE
  | { kind: 'BODYSTRUCTURE' }
  | { kind: 'MODSEQ' }
  | { kind: 'RFC822' } // = BODY[] (sets \Seen), reply named RFC822
  | { kind: 'RFC822.HEADER' } // = BODY.PEEK[HEADER]
  | { kind: 'RFC822.TEXT' } // = BODY[TEXT]
  | { kind: 'BODY[]'; section: BodySection }
  | { kind: 'BINARY[]'; section: BodySection }
  | { kind: 'BINARY.SIZE'; part: number[] };

export type StoreMode = 'add' | 'remove' | 'replace';

/** LIST-EXTENDED (RFC 5258) selection and return options, upper-cased. */
export interface ListOptions {
  select: string[];
  return: string[];
}

export type Command =
  | { name: 'CAPABILITY' }
  | { name: 'NOOP' }
  | { name: 'LOGOUT' }
  | { name: 'STARTTLS' }
  | { name: 'AUTHENTICATE'; mechanism: string; initialResponse?: Buffer }
  | { name: 'LOGIN'; user: Buffer; password: Buffer }
  | { name: 'ENABLE'; capabilities: string[] }
  | { name: 'ID'; params: Array<[string, string | null]> | null }
  | { name: 'SELECT' | 'EXAMINE'; mailbox: string; condstore: boolean }
  | { name: 'CREATE'; mailbox: string }
  | { name: 'DELETE'; mailbox: string }
  | { name: 'RENAME'; from: string; to: string }
  | { name: 'SUBSCRIBE' | 'UNSUBSCRIBE'; mailbox: string }
  | { name: 'LIST'; reference: string; patterns: string[]; options: ListOptions }
  | { name: 'LSUB'; reference: string; pattern: string }
  | { name: 'NAMESPACE' }
  | { name: 'STATUS'; mailbox: string; items: StatusItem[] }
  | { name: 'IDLE' }
  | { name: 'CHECK' }
  | { name: 'CLOSE' }
  | { name: 'UNSELECT' }
  | { name: 'EXPUNGE' }
  | { name: 'UID EXPUNGE'; set: SequenceSet }
  | { name: 'SEARCH'; uid: boolean; charset?: string; returns?: SearchReturn[]; criteria: SearchKey }
  | { name: 'FETCH'; uid: boolean; set: SequenceSet; items: FetchItem[]; changedSince?: bigint; macro?: 'ALL' | 'FAST' | 'FULL' }
  | { name: 'STORE'; uid: boolean; set: SequenceSet; mode: StoreMode; silent: boolean; flags: string[]; unchangedSince?: bigint }
  | { name: 'COPY' | 'MOVE'; uid: boolean; set: SequenceSet; mailbox: string };

/**
 * APPEND is not a Command: its message literal may be many megabytes and is streamed into the
 * store. parseAppendHead() reads everything before the literal; the literal itself arrives as
 * framer events.
 */
export interface AppendHead {
  tag: string;
  mailbox: string;
  flags: string[];
  date?: Date;
  /** The literal's announced size and whether it was `{n+}` (LITERAL+, no continuation wanted). */
  literal: { size: number; nonSync: boolean; binary: boolean };
}

/** A tagged command or why it could not be parsed (→ tagged BAD, or untagged BAD without a tag). */
export type ParseResult =
  | { ok: true; tag: string; command: Command }
  | { ok: false; tag?: string; message: string };
