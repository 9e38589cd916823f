/**
 * IDLE (RFC 2177, RFC 9051 6.3.13): the client waits; changes to the selected mailbox, from
 * other sessions, SMTP/LMTP delivery (in-process events) or outside writers (the folder's one
 * shared watcher), are reported as they happen, EXPUNGE included, until the client sends DONE.
 *
 * Thousands of connections sit here: the wait is one object and a promise chain (no suspended
 * async function of its own), with one bound listener and one timer.
 */
import type { ImapSession } from './session.js';

/** Dovecot's imap_idle_notify_interval: NAT boxes must see traffic on an idle connection. */
const KEEPALIVE_MS = 2 * 60_000;

/** Runs one IDLE after its `+` was sent; resolves with the client's line ending it (null: gone). */
export function idle(session: ImapSession): Promise<Buffer | null> {
  return new IdleWait(session).run();
}

class IdleWait {
  private chain: Promise<void> = Promise.resolve();
  private readonly unsubscribe: (() => void) | undefined;
  private readonly keepalive: NodeJS.Timeout;

  constructor(private readonly session: ImapSession) {
    this.report = this.report.bind(this);
    this.unsubscribe = session.selected?.folder.onChange(this.report);
    this.keepalive = setInterval(keepalive, KEEPALIVE_MS, session);
    this.keepalive.unref();
  }

  run(): Promise<Buffer | null> {
    this.report(); // what changed before IDLE began
    return this.session.conn.nextLine().then(
      (line) => this.finish().then(() => line),
      (err: unknown) => this.finish().then(() => Promise.reject(err)),
    );
  }

  private report(): void {
    const s = this.session;
    this.chain = this.chain.then(() => s.reportChanges()).catch((err: unknown) => s.log.warn({ err: (err as Error).message }, 'idle sync failed'));
  }

  private finish(): Promise<void> {
    clearInterval(this.keepalive);
    this.unsubscribe?.();
    return this.chain;
  }
}

function keepalive(session: ImapSession): void {
  session.untagged('OK Still here');
}
