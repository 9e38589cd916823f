import type net from 'node:net';
import type { ListenerName } from '../config/schema.js';

/**
 * Until a protocol is implemented its listener still binds (so port conflicts show at start-up)
 * and answers with that protocol's own "temporarily unavailable" greeting, which clients treat
 * as a temporary failure and retry later: SMTP 421 (RFC 5321 3.8), IMAP BYE (RFC 9051 7.1.5),
 * POP3 -ERR with [SYS/TEMP] (RFC 3206).
 */
export function placeholderGreeting(listener: ListenerName, hostname: string): string {
  switch (listener) {
    case 'smtp':
    case 'submission':
    case 'submissions':
    case 'lmtp':
      return `421 4.3.2 ${hostname} tsmail ${listener.toUpperCase()} service not yet available\r\n`;
    case 'imap':
    case 'imaps':
      return `* BYE [UNAVAILABLE] ${hostname} tsmail IMAP service not yet available\r\n`;
    case 'pop3':
    case 'pop3s':
      return `-ERR [SYS/TEMP] ${hostname} tsmail POP3 service not yet available\r\n`;
  }
}

export function placeholderHandler(listener: ListenerName, hostname: string): (socket: net.Socket) => void {
  const greeting = placeholderGreeting(listener, hostname);
  return (socket) => {
    socket.end(greeting);
  };
}
