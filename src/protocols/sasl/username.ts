/**
 * Which user names a client may log in with. Dovecot refuses names with characters its
 * auth_username_chars does not list (space and control characters among them) instead of
 * cleaning them up; tsmail does the same, and never trims: ` alice@example.test` must not become
 * someone else's `alice@example.test` on its way through a lookup that trims.
 */

/** C0 controls (NUL included), DEL and the C1 controls (U+0085 is a line end to some parsers). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** Any Unicode white space at either end (U+00A0, U+2028 and friends too). */
const EDGE_SPACE = /^\s|\s$/u;
/** Dovecot's auth request limit for a user name. */
const MAX_USERNAME_BYTES = 255;

/** The user name in `bytes`, or why it cannot log in. */
export function parseUsername(bytes: Buffer): { ok: true; name: string } | { ok: false; reason: string; name?: string } {
  if (bytes.length === 0) return { ok: false, reason: 'empty user name' };
  if (bytes.length > MAX_USERNAME_BYTES) return { ok: false, reason: 'user name too long' };
  // Fatal decoding: invalid UTF-8 is refused, not turned into U+FFFD (which could match a stored name).
  let name: string;
  try {
    name = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return { ok: false, reason: 'user name is not UTF-8' };
  }
  if (CONTROL.test(name)) return { ok: false, reason: 'control character in user name' };
  if (EDGE_SPACE.test(name)) return { ok: false, reason: 'white space around user name', name };
  return { ok: true, name };
}
