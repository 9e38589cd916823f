/**
 * IDLE (RFC 2177, RFC 9051 6.3.13): the client waits; changes to the selected mailbox, from
 * other sessions, SMTP/LMTP delivery (in-process events) or outside writers (the folder's one
 * shared watcher), are reported as they happen, EXPUNGE included, until the client sends DONE.
 */
import type { ImapSession } from './session.js';

/** Dovecot's imap_idle_notify_interval: NAT boxes must see traffic on an idle connection. */
const KEEPALIVE_MS = 2 * 60_000;

/** Runs one IDLE after its `+` was sent; resolves with the client's line ending it (null: gone). */
export async function idle(session: ImapSession): Promise<Buffer | null> {
  const selected = session.selected;
  let chain = Promise.resolve();
  const report = () => {
    chain = chain.then(() => session.reportChanges()).catch((err: unknown) => session.log.warn({ err: (err as Error).message }, 'idle sync failed'));
  };
  const unsubscribe = selected?.folder.onChange(report);
  const keepalive = setInterval(() => session.untagged('OK Still here'), KEEPALIVE_MS);
  keepalive.unref();
  report(); // what changed before IDLE began
  try {
    return await session.conn.nextLine();
  } finally {
    clearInterval(keepalive);
    unsubscribe?.();
    await chain;
  }
}
