/**
 * SASL PLAIN (RFC 4616 2): `[authzid] NUL authcid NUL passwd`, one message. The password is
 * kept as bytes (RFC 4616 allows any UTF-8, clients send what they have, and Dovecot compares
 * bytes). An authorization identity other than the login itself would be a master-user login
 * ("log in as alice with bob's password"), which tsmail does not offer: refused as Dovecot
 * without master passdbs refuses it, not silently dropped.
 */
import type { SaslOutcome } from './types.js';
import { parseUsername } from './username.js';

export function decodePlain(message: Buffer): SaslOutcome {
  const first = message.indexOf(0);
  const second = first < 0 ? -1 : message.indexOf(0, first + 1);
  // RFC 4616 2: exactly two NULs (none may be in the password either).
  if (second < 0 || message.indexOf(0, second + 1) >= 0) return { kind: 'refused', reason: 'invalid PLAIN message' };
  const user = parseUsername(message.subarray(first + 1, second));
  if (!user.ok) return { kind: 'refused', reason: user.reason, ...(user.name ? { username: user.name } : {}) };
  let authzid = '';
  if (first > 0) {
    const z = parseUsername(message.subarray(0, first));
    if (!z.ok || z.name !== user.name) return { kind: 'refused', reason: 'authzid not allowed', username: user.name };
    authzid = z.name;
  }
  return {
    kind: 'credentials',
    credentials: { mechanism: 'PLAIN', authzid, username: user.name, password: Buffer.from(message.subarray(second + 1)) },
  };
}
