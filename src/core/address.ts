import { InvalidInput } from './errors.js';

export interface Address {
  /** Local part as given (case kept; lookups use `normalizeAddress`). */
  local: string;
  /** Domain, lower-cased. */
  domain: string;
}

// RFC 5321 4.5.3.1: local part 64 octets, domain 255, path 256 (we use 254 for the mailbox).
const MAX_LOCAL = 64;
const MAX_DOMAIN = 253;
const MAX_ADDRESS = 254;

// Characters that must never reach a file name or a query built from an address: control
// characters (NUL included), path separators, whitespace, quotes, and U+FFFD (what invalid UTF-8
// decodes to). RFC 5322 quoted local parts are deliberately not supported: no mailbox store
// (Dovecot included) can name such a user safely.
const FORBIDDEN = /[\u0000-\u0020\u007f"\\/<>()[\],;:\ufffd]/u;
const DOMAIN_LABEL = /^(?!-)[\p{L}\p{N}-]{1,63}(?<!-)$/u;

export function isValidDomain(domain: string): boolean {
  if (domain.length === 0 || domain.length > MAX_DOMAIN) return false;
  return domain.split('.').every((label) => DOMAIN_LABEL.test(label));
}

/** A fully qualified domain: at least two labels (Postfix reject_non_fqdn_*). */
export function isFqdn(domain: string): boolean {
  return isValidDomain(domain) && domain.includes('.');
}

function checkLocal(local: string, whole: string): void {
  if (local.length === 0 || local.length > MAX_LOCAL) {
    throw new InvalidInput(`invalid local part in address: ${JSON.stringify(whole)}`);
  }
  if (FORBIDDEN.test(local) || local.startsWith('.') || local.endsWith('.') || local.includes('..')) {
    throw new InvalidInput(`invalid characters in address: ${JSON.stringify(whole)}`);
  }
}

/**
 * True for a local part a mail store can name: at most 64 octets (RFC 5321 4.5.3.1.1), no
 * forbidden characters, no leading, trailing or doubled dots.
 */
export function isValidLocalPart(local: string): boolean {
  try {
    checkLocal(local, local);
    return true;
  } catch {
    return false;
  }
}

/** Parses `local@domain`; throws InvalidInput for anything a mail store could not safely use. */
export function parseAddress(input: string): Address {
  if (input.length > MAX_ADDRESS) throw new InvalidInput('address too long');
  const at = input.lastIndexOf('@');
  if (at <= 0 || at === input.length - 1) {
    throw new InvalidInput(`not an address of the form user@domain: ${JSON.stringify(input)}`);
  }
  const local = input.slice(0, at);
  const domain = input.slice(at + 1).toLowerCase();
  checkLocal(local, input);
  if (!isValidDomain(domain)) throw new InvalidInput(`invalid domain in address: ${JSON.stringify(input)}`);
  return { local, domain };
}

/** Lower-cases the whole address: the seeds' MySQL collations compare case-insensitively too. */
export function normalizeAddress(input: string): string {
  const { local, domain } = parseAddress(input.trim());
  return `${local.toLowerCase()}@${domain}`;
}

export function normalizeDomain(input: string): string {
  const domain = input.trim().toLowerCase();
  if (!isValidDomain(domain)) throw new InvalidInput(`invalid domain: ${JSON.stringify(input)}`);
  return domain;
}

/**
 * Postfix recipient_delimiter: `user+tag` → `user`. Returns null when there is no extension
 * (no delimiter, or the delimiter is the first character as in `+foo`).
 */
export function stripExtension(local: string, delimiters: string): string | null {
  if (!delimiters) return null;
  for (let i = 1; i < local.length; i++) {
    if (delimiters.includes(local[i]!)) return local.slice(0, i);
  }
  return null;
}
