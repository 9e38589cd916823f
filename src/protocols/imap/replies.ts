/**
 * The one mapper from the store's and directory's typed errors (core/errors.ts) to IMAP replies
 * (RFC 5530 response codes). What went wrong inside goes to the log; the client gets a fixed
 * text, as Dovecot's "Internal error occurred. Refer to server log for more information."
 */
import { AuthFailure, InvalidInput, NotFound, PolicyReject, QuotaExceeded, TempFailure } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { InvalidMessageSet } from './messages.js';

export interface Reply {
  status: 'OK' | 'NO' | 'BAD';
  /** Response code without brackets, e.g. `OVERQUOTA` or `COPYUID 1 2 3`. */
  code?: string;
  text: string;
}

export function no(text: string, code?: string): Reply {
  return code ? { status: 'NO', code, text } : { status: 'NO', text };
}

export function bad(text: string): Reply {
  return { status: 'BAD', text };
}

export function ok(text: string, code?: string): Reply {
  return code ? { status: 'OK', code, text } : { status: 'OK', text };
}

/** The tagged reply for `err`, thrown while running a command on `mailbox` (when one is named). */
export function errorReply(err: unknown, log: Logger, mailbox?: string): Reply {
  // A message number past the mailbox is the client's mistake (RFC 9051 6.4.5), not the store's.
  if (err instanceof InvalidMessageSet) return bad(err.message);
  if (err instanceof QuotaExceeded) return no('Quota exceeded (mailbox for user is full)', 'OVERQUOTA');
  if (err instanceof NotFound) return no(mailbox !== undefined ? `Mailbox doesn't exist: ${printable(mailbox)}` : 'No such mailbox or message', 'NONEXISTENT');
  if (err instanceof AuthFailure) return no('Authentication failed.', 'AUTHENTICATIONFAILED');
  if (err instanceof InvalidInput) {
    // The store says "already exists" as InvalidInput: the client must hear ALREADYEXISTS (RFC 5530 3).
    if (/already exists/i.test(err.message)) return no('Mailbox already exists', 'ALREADYEXISTS');
    log.info({ err: err.message }, 'refused');
    return no('Invalid mailbox name or argument', 'CANNOT');
  }
  if (err instanceof PolicyReject) {
    log.info({ err: err.message }, 'refused');
    return no('Operation not permitted', 'CANNOT');
  }
  if (err instanceof TempFailure) {
    log.warn({ err: err.message, detail: describe(err.detail) }, 'temporary failure');
    return no('Temporary failure, try again later', 'UNAVAILABLE');
  }
  log.error({ err: (err as Error)?.message, stack: (err as Error)?.stack }, 'internal error');
  return no('Internal error occurred. Refer to server log for more information.', 'SERVERBUG');
}

function describe(detail: unknown): string | undefined {
  if (detail === undefined) return undefined;
  return detail instanceof Error ? detail.message : String(detail);
}

/** A name echoed in a reply text: no CR/LF/controls may break the line. */
function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, '?').slice(0, 200);
}

/** The reply line `TAG STATUS [CODE] text`. */
export function formatTagged(tag: string, r: Reply): string {
  return `${tag} ${r.status} ${r.code ? `[${r.code}] ` : ''}${r.text}\r\n`;
}
