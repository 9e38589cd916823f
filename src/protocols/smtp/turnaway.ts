/**
 * What an SMTP-family listener (25, 587, LMTP over TCP) writes to a client it turns away as
 * soon as it connects, before any greeting, then closes (RFC 5321 3.8: a server that must shut a
 * connection answers 421). The listener counts and decides (daemon/listener.ts); this words it.
 */

/** The listener's reasons (daemon/listener.ts `Turnaway`). */
export type TurnawayReason =
  | { kind: 'listener-full' }
  | { kind: 'client-full'; ip: string }
  | { kind: 'not-allowed'; ip: string };

export function smtpTurnaway(hostname: string, protocol: 'SMTP' | 'LMTP'): (why: TurnawayReason) => string {
  return (why) => {
    switch (why.kind) {
      // RFC 3463 X.3.2: system not accepting network messages (the process limit is reached).
      case 'listener-full': return `421 4.3.2 ${hostname} Error: too many connections, try again later\r\n`;
      // Postfix smtpd with smtpd_client_connection_count_limit, word for word.
      case 'client-full': return `421 4.7.0 ${hostname} Error: too many connections from ${why.ip}\r\n`;
      // 421 rather than 554: a Postfix in front that is refused by mistake keeps its mail queued
      // (and retries) while the allowed networks are fixed, instead of bouncing it.
      case 'not-allowed': return `421 4.7.0 ${hostname} Error: ${protocol} not allowed from ${why.ip}\r\n`;
    }
  };
}
