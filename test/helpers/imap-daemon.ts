/**
 * The real tsmail process with its IMAP listeners (imap, imaps) beside SMTP/LMTP on free loopback
 * ports and temp Maildirs, plus an imapflow client factory. Users are alice and bob
 * (`{PLAIN}` passwords `alice-pw`, `bob-pw`).
 */
import { ImapFlow } from 'imapflow';
import { freePorts } from './daemon.js';
import { startSmtpDaemon, type SmtpDaemon, type TomlSections } from './smtp-daemon.js';

export const USERS = 'alice@example.test:{PLAIN}alice-pw:::::\nbob@example.test:{PLAIN}bob-pw:::::\n';

export interface ImapDaemon extends SmtpDaemon {
  imapPort: number;
  imapsPort: number;
  /** A logged-in imapflow client (clear text on 143: the daemon allows it unless told otherwise). */
  client(user?: string, password?: string, opts?: { secure?: boolean; starttls?: boolean }): Promise<ImapFlow>;
}

export async function startImapDaemon(dir: string, sections: TomlSections = {}): Promise<ImapDaemon> {
  const [imap, imaps] = (await freePorts(2)) as [number, number];
  const merged: TomlSections = {
    ...sections,
    listen: { imap: `127.0.0.1:${imap}`, imaps: `127.0.0.1:${imaps}`, ...sections.listen },
    imap: { login_without_tls: true, ...sections.imap },
    security: { auth_failure_delay: 0.01, ...sections.security },
  };
  const d = await startSmtpDaemon(dir, USERS, merged);
  return {
    ...d,
    imapPort: imap,
    imapsPort: imaps,
    async client(user = 'alice@example.test', password = 'alice-pw', opts = {}) {
      const c = new ImapFlow({
        host: '127.0.0.1',
        port: opts.secure ? imaps : imap,
        secure: opts.secure ?? false,
        doSTARTTLS: opts.secure ? undefined : opts.starttls ?? false,
        tls: { rejectUnauthorized: false },
        auth: { user, pass: password },
        logger: false,
      });
      await c.connect();
      return c;
    },
  };
}
