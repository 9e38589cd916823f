/**
 * A SASL exchange (RFC 4422 3) for the mechanisms tsmail offers, PLAIN and LOGIN, independent of
 * the protocol carrying it: SMTP AUTH (RFC 4954), IMAP AUTHENTICATE (RFC 9051 6.2.2) and POP3
 * AUTH (RFC 5034) each frame the same base64 lines differently and call this.
 *
 *  - PLAIN: the message as initial response, or after an empty challenge.
 *  - LOGIN (draft-murchison-sasl-login): `Username:`, `Password:` challenges; an initial
 *    response is the user name (as Dovecot and Postfix take it).
 *
 * A response of `*` aborts; one that is not strict base64 refuses the login (Dovecot: "Invalid
 * base64 data"), counted like a wrong password.
 */
import { decodeBase64 } from './base64.js';
import { decodePlain } from './plain.js';
import type { SaslStep } from './types.js';
import { parseUsername } from './username.js';

export const SASL_MECHANISMS = ['PLAIN', 'LOGIN'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export function isSaslMechanism(name: string): name is SaslMechanism {
  return (SASL_MECHANISMS as readonly string[]).includes(name);
}

const USERNAME_PROMPT = Buffer.from('Username:');
const PASSWORD_PROMPT = Buffer.from('Password:');

export class SaslExchange {
  /** LOGIN's user name once given. */
  private username: string | null = null;

  private constructor(private readonly mechanism: SaslMechanism) {}

  /**
   * Starts `mechanism`; `initial` is the initial response as sent (`=` for an empty one,
   * RFC 4954 4), or undefined when the client gave none.
   */
  static start(mechanism: SaslMechanism, initial?: string): { exchange: SaslExchange; step: SaslStep } {
    const exchange = new SaslExchange(mechanism);
    if (initial === undefined) {
      return { exchange, step: { kind: 'challenge', data: mechanism === 'PLAIN' ? Buffer.alloc(0) : USERNAME_PROMPT } };
    }
    return { exchange, step: exchange.respond(initial === '=' ? '' : initial, true) };
  }

  /** The client's response line (without CRLF). */
  respond(line: string, initial = false): SaslStep {
    // `*` cancels (RFC 4954 4); an initial response cannot be a cancellation.
    if (!initial && line === '*') return { kind: 'done', outcome: { kind: 'aborted' } };
    const data = decodeBase64(line);
    if (data === null) return done('invalid base64 data', this.username);
    if (this.mechanism === 'PLAIN') return { kind: 'done', outcome: decodePlain(data) };
    if (this.username === null) {
      const user = parseUsername(data);
      if (!user.ok) return done(user.reason, user.name ?? null);
      this.username = user.name;
      return { kind: 'challenge', data: PASSWORD_PROMPT };
    }
    return {
      kind: 'done',
      outcome: { kind: 'credentials', credentials: { mechanism: 'LOGIN', authzid: '', username: this.username, password: data } },
    };
  }
}

function done(reason: string, username: string | null): SaslStep {
  return { kind: 'done', outcome: { kind: 'refused', reason, ...(username !== null ? { username } : {}) } };
}
