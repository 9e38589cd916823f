/** Per-recipient outcome of a local delivery, mapped to replies by each protocol's replies.ts. */
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
}

/** One delivery in progress (see local-delivery.ts): RCPT by RCPT, then the message. */
export interface DeliveryTx {
  /** Null when accepted; otherwise the final status for this recipient (unknown, temp). */
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
