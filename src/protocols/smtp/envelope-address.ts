/**
 * Envelope addresses as Postfix's smtpd takes them before any restriction:
 *  - RFC 5321 4.5.1: `RCPT TO:<postmaster>`, without a domain, must be accepted. Postfix skips
 *    its recipient restrictions for it (smtpd_check_rcpt) and its cleanup appends @$myorigin
 *    (append_at_myorigin), $myorigin being $mydomain in the seeds: `postmasterAddress`;
 *  - an address whose local part no mailbox can have (over 64 octets, RFC 5321 4.5.3.1.1, or a
 *    character no mail store can name, such as `/`) is a syntax error (`501 5.1.3` / `501 5.1.7`,
 *    Postfix's "Bad recipient/sender address syntax"), not a "need fully-qualified address".
 *    An address without a domain is left to reject_non_fqdn_* as before.
 */
import { isValidLocalPart } from '../../core/address.js';
import type { RouteOutcome } from '../../delivery/types.js';
import type { Refusal } from './replies.js';

export function isBarePostmaster(address: string): boolean {
  return address.toLowerCase() === 'postmaster';
}

/** True when the address has a domain part and its local part is unusable. */
export function badLocalPart(address: string): boolean {
  const at = address.lastIndexOf('@');
  return at >= 0 && !isValidLocalPart(address.slice(0, at));
}

/** postmaster@$mydomain, mydomain being Postfix's default: the host name minus its first label. */
export function postmasterAddress(hostname: string): string {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  const parent = host.slice(host.indexOf('.') + 1);
  return `postmaster@${parent.includes('.') ? parent : host}`;
}

/** The answer to `RCPT TO:<postmaster>`: a postmaster that is not ours is unknown, not relayed. */
export function postmasterRefusal(outcome: RouteOutcome): Refusal | null {
  if (outcome.kind === 'local' || outcome.kind === 'remote') return null;
  return outcome.kind === 'relay-denied' ? { kind: 'unknown' } : outcome;
}
