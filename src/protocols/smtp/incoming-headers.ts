/**
 * What Postfix's cleanup(8) does to the header section of mail taken in over SMTP (port 25 and
 * submission), done while DATA streams in (core/header-filter.ts), over the whole section:
 *  - message_drop_headers (Postfix default `bcc, content-length, resent-bcc, return-path`) are
 *    removed before the message is stored or queued: a Bcc left in the copy queued for remote
 *    recipients would reveal the blind recipients; Return-Path is the delivery's to add;
 *  - `Authentication-Results` claiming our authserv-id are removed (RFC 8601 5), however the
 *    field is written (`Authentication-Results :`, comments before the id, any case);
 *  - `Received:` fields are counted for hopcount_limit;
 *  - the addresses of every From and Sender field are collected for the submission check, with
 *    the fields that have no parsable address;
 *  - a message without From gets one made from the envelope sender when asked (submission).
 * The facts are read once the message is staged; nothing re-reads the message.
 */
import type { Transform } from 'node:stream';
import addressparser from 'nodemailer/lib/addressparser';
import { type HeaderField, leadingWords } from '../../core/header-fields.js';
import { headerFilter } from '../../core/header-filter.js';

/** Postfix message_drop_headers (default). */
const DROP = new Set(['bcc', 'resent-bcc', 'content-length', 'return-path']);

/**
 * Postfix hopcount_limit. cleanup counts every Received: of the primary header section and
 * refuses when the count reaches the limit (`++hop_count >= var_hopcount_limit`,
 * cleanup_message.c), and smtpd's own Received: is the first one it counts (smtpd.c writes it
 * into the cleanup stream): a message arriving with 49 Received fields is refused, 48 pass.
 */
export const HOPCOUNT_LIMIT = 50;

/**
 * Distinct From/Sender addresses kept for the check; a message naming more is refused rather
 * than have each looked up (or held) for a header section of 50 MB of addresses.
 */
const MAX_SENDERS = 100;

export interface HeaderFacts {
  /** Received: fields in the message as it came (ours not included). */
  received: number;
  /** Every address of every From and Sender field, each once (at most MAX_SENDERS). */
  senders: Set<string>;
  /** The name (as written, e.g. `From`) of the first From/Sender field with no parsable address, or past MAX_SENDERS. */
  unparsable: string | null;
  /** A From field was present (however written). */
  hasFrom: boolean;
  /** Authentication-Results fields removed as forged. */
  forgedResults: number;
  /** Fields removed as message_drop_headers. */
  dropped: number;
}

export interface IncomingHeadersOptions {
  /** Our authserv-id (the hostname, as in the Authentication-Results we add). */
  authservId: string;
  /** A message without From gets `From: <this>` (Postfix cleanup's missing From:); none: nothing added. */
  missingFrom?: string;
}

export class IncomingHeaders {
  readonly facts: HeaderFacts = { received: 0, senders: new Set(), unparsable: null, hasFrom: false, forgedResults: 0, dropped: 0 };
  private readonly authservId: string;

  constructor(private readonly opts: IncomingHeadersOptions) {
    this.authservId = normalizeId(opts.authservId);
  }

  /** A fresh filter for one message; the facts fill in as it streams through. */
  filter(): Transform {
    return headerFilter({
      keep: (field) => this.keep(field),
      append: () => (this.facts.hasFrom || this.opts.missingFrom === undefined ? '' : `From: <${this.opts.missingFrom}>\r\n`),
    });
  }

  /** True when the message has looped too often (Postfix hopcount_limit, our own Received counted). */
  get tooManyHops(): boolean {
    return this.facts.received + 1 >= HOPCOUNT_LIMIT;
  }

  private keep(field: HeaderField): boolean {
    const key = field.key;
    if (DROP.has(key)) {
      this.facts.dropped++;
      return false;
    }
    switch (key) {
      case 'received':
        this.facts.received++;
        return true;
      case 'authentication-results':
        if (!this.claimsOurId(field)) return true;
        this.facts.forgedResults++;
        return false;
      case 'from':
      case 'sender':
        if (key === 'from') this.facts.hasFrom = true;
        this.collect(field);
        return true;
      default:
        return true;
    }
  }

  /**
   * RFC 8601 2.2: `[CFWS] authserv-id [CFWS authres-version] ";" ...`. Any word before the first
   * `;` (comments and quoted strings included) that is our id counts, so that no reader, however
   * lenient, can take the field for ours; a field too large to be read whole is removed too.
   */
  private claimsOurId(field: HeaderField): boolean {
    if (field.truncated) return true;
    // Split further at anything a host name cannot hold: `(unclosed mx.example; ...` hides the
    // id and its `;` in a comment that never ends, which a lenient reader may still see through.
    const names = leadingWords(field.value, ';').flatMap((w) => w.split(/[^A-Za-z0-9._-]+/));
    return names.some((w) => normalizeId(w) === this.authservId);
  }

  /**
   * Every address of a From/Sender field. The field must hold addresses and nothing that looks
   * like one besides them: `alice@x <ceo@evil>` or `<alice@x> ceo@evil` are read differently by
   * different readers, so they count as unparsable rather than as either address.
   */
  private collect(field: HeaderField): void {
    if (field.truncated) {
      this.facts.unparsable ??= field.name;
      return;
    }
    const parsed = addressparser(field.value, { flatten: true });
    const addresses: string[] = [];
    let bad = parsed.length === 0;
    for (const a of parsed) {
      const address = 'address' in a ? a.address : '';
      if (!address || !/^[^@\s]+@[^@\s]+$/.test(address)) bad = true;
      else addresses.push(address);
    }
    const seen = new Set(addresses.map((a) => a.toLowerCase()));
    for (const word of bareAddresses(field.value)) if (!seen.has(word.toLowerCase())) bad = true;
    for (const a of addresses) {
      if (this.facts.senders.has(a)) continue;
      if (this.facts.senders.size >= MAX_SENDERS) bad = true;
      else this.facts.senders.add(a);
    }
    if (bad) this.facts.unparsable ??= field.name;
  }
}

function normalizeId(id: string): string {
  return id.toLowerCase().replace(/\.$/, '');
}

/** Address-like words outside quoted strings and comments (display names may hold anything). */
function bareAddresses(value: string): string[] {
  let text = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && (quoted || depth > 0)) {
      i++;
      continue;
    }
    if (quoted) {
      if (c === '"') quoted = false;
      continue;
    }
    if (depth > 0) {
      if (c === '(') depth++;
      else if (c === ')') depth--;
      continue;
    }
    if (c === '(') depth++;
    else if (c === '"') quoted = true;
    else text += c;
  }
  return [...text.matchAll(/[^\s<>,;:]+@[^\s<>,;:]+/g)].map((m) => m[0]);
}
