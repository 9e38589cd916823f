/** A mailbox name for LIST/LSUB/STATUS lines: modified UTF-7 for IMAP4rev1 clients (RFC 3501 5.1.3), bytes as they go. */
import { mailboxName } from './encoder.js';

export function wireMailboxName(name: string, utf8 = false): Buffer {
  return mailboxName(name, utf8);
}
