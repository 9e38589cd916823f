/**
 * What the protocols need from delivery: local delivery as a transaction (local-delivery.ts)
 * and the routing of one SMTP transaction between local mailboxes and the outbound spool
 * (routing.ts). Outcomes say what happened; each protocol's replies.ts words them.
 */

/** Per-recipient outcome of a local delivery. */
export type RecipientStatus =
  /** Durable in every mailbox the address resolves to. */
  | { kind: 'delivered'; mailboxes: string[] }
  /** Nothing answers to the address (550 5.1.1). */
  | { kind: 'unknown' }
  /** The domain is not ours: relaying, which only the SMTP policy may allow. */
  | { kind: 'relay' }
  /** A mailbox is over quota (552 5.2.2). */
  | { kind: 'quota'; mailbox: string }
  /** Try again later (451 4.3.0): directory or disk trouble. */
  | { kind: 'temp'; reason: string };

export interface DeliveryEnvelope {
  /** MAIL FROM, '' for the null sender (bounces). */
  sender: string;
  /**
   * The size the client announced (MAIL FROM SIZE=, RFC 1870): recipients whose quota cannot
   * take it are refused at RCPT, as Dovecot's lmtp_rcpt_check_quota does.
   */
  size?: number;
}

/** One delivery in progress (see local-delivery.ts): RCPT by RCPT, then the message. */
export interface DeliveryTx {
  /** Null when accepted; otherwise the final status for this recipient (unknown, relay, quota, temp). */
  addRecipient(address: string): Promise<RecipientStatus | null>;
  readonly recipients: readonly string[];
  /**
   * One status per accepted recipient, in order; rejects when the message stream fails.
   * `headers`: complete header lines (CRLF-terminated) to put above the message, under the
   * delivery's own Return-Path/Delivered-To (e.g. the SMTP `Received:` line).
   */
  commit(message: NodeJS.ReadableStream | Buffer, headers?: string): Promise<RecipientStatus[]>;
}

/** What the SMTP/LMTP layer needs from local delivery. */
export interface DeliveryService {
  begin(envelope: DeliveryEnvelope): DeliveryTx;
}

/** DSN parameters (RFC 3461) kept with relayed mail for the queue manager's reports. */
export interface SpoolDsn {
  ret?: string;
  envid?: string;
  /** Per recipient: NOTIFY values and ORCPT. */
  recipients?: Record<string, { notify?: string[]; orcpt?: string }>;
}

/** Where relayed mail waits for the queue manager (queue/spool.ts). */
export interface OutboundSpool {
  /** A fresh private path on the spool's filesystem, for staging. */
  stagingPath(): string;
  enqueue(envelope: { from: string; to: string[]; dsn?: SpoolDsn }, message: NodeJS.ReadableStream | Buffer): Promise<string>;
}

/** A recipient as the SMTP layer hands it over, with its RFC 3461 parameters. */
export interface RcptRequest {
  address: string;
  notify?: string[];
  orcpt?: string;
}

/**
 * RCPT-time outcome of routing one recipient: accepted for a local mailbox or for relaying, or
 * refused with a reason that replies.ts words.
 */
export type RouteOutcome =
  | { kind: 'local' }
  | { kind: 'remote' }
  | { kind: 'relay-denied' }
  | Exclude<RecipientStatus, { kind: 'delivered' } | { kind: 'relay' }>;

/**
 * The end of one routed transaction: durable for every recipient (`spooled`: the outbound spool's
 * id of the relayed copy, if any), or the first failure.
 */
export type CommitOutcome = { kind: 'stored'; spooled?: string } | Exclude<RecipientStatus, { kind: 'delivered' } | { kind: 'relay' }>;

/** The message, taken in once, as routing reads it (core/staged-message.ts). */
export interface StagedBody {
  stream(): NodeJS.ReadableStream;
  /** The whole message when it is held in memory, else null. */
  buffer(): Buffer | null;
}

/** The envelope of one routed SMTP transaction. */
export interface RoutingEnvelope {
  /** MAIL FROM, '' for the null sender. */
  sender: string;
  /** SIZE= as announced (RFC 1870), for the RCPT-time quota check. */
  size?: number;
  /** RET= and ENVID= (RFC 3461), kept for relayed mail. */
  ret?: string;
  envid?: string;
}

/** One SMTP transaction's recipients, local and relayed, and the commit for all of them (routing.ts). */
export interface RoutedTransaction {
  readonly sender: string;
  readonly local: readonly string[];
  readonly remote: readonly string[];
  /** Accepted recipients so far. */
  readonly count: number;
  /** Every accepted recipient, local ones first. */
  readonly recipients: readonly string[];
  /** RCPT: `relayAllowed` decides for addresses outside our domains. Throws on backend trouble. */
  add(rcpt: RcptRequest, relayAllowed: boolean): Promise<RouteOutcome>;
  /** The blind copies the bcc maps ask for, added quietly. */
  addBlindCopies(): Promise<void>;
  /** Durable for every recipient, or the first failure; throws when the spool or a mailbox cannot take it. */
  commit(message: StagedBody, head: string): Promise<CommitOutcome>;
}

/** Starts routed transactions (port 25, submission). */
export interface TransactionRouter {
  begin(envelope: RoutingEnvelope): RoutedTransaction;
  /** A fresh private path on the spool's filesystem, for staging a large message. */
  stagingPath(): string;
}
