/**
 * LIST patterns (RFC 9051 6.3.9): `*` matches anything, `%` anything but the hierarchy
 * separator; the reference is prefixed to the pattern. `INBOX` matches in any case.
 */
export function listMatcher(reference: string, pattern: string): (name: string) => boolean {
  const full = reference + pattern;
  const body = [...full].map((c) => (c === '*' ? '.*' : c === '%' ? '[^.]*' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
  const re = new RegExp(`^${body}$`, 's');
  // INBOX is case-insensitive (RFC 9051 5.1): `inbox`, `Inbox.%` match it and its children.
  const inboxRe = new RegExp(`^${body}$`, 'is');
  return (name) => {
    if (re.test(name)) return true;
    if (name === 'INBOX' || name.startsWith('INBOX.')) return inboxRe.test(name) && /^inbox/i.test(full);
    return false;
  };
}
