/**
 * The CAPABILITY lists (RFC 9051 6.1.1), exactly those issue 11 names and that work: before
 * login they describe how to log in; after login, what the session can do. A client must not
 * be offered AUTH= or LOGIN in clear text unless the operator allows it (RFC 9051 11.1,
 * Dovecot's disable_plaintext_auth = yes): LOGINDISABLED and no AUTH= before STARTTLS.
 */

export interface CapabilityContext {
  /** The connection is TLS (implicit or after STARTTLS). */
  secure: boolean;
  /** STARTTLS can be offered (a plain connection on a listener with certificates). */
  starttls: boolean;
  /** Logins in clear text allowed by configuration (imap.login_without_tls). */
  plaintextLogin: boolean;
  authenticated: boolean;
}

const COMMON = ['IMAP4rev1', 'IMAP4rev2', 'SASL-IR', 'LITERAL+', 'ID', 'ENABLE', 'IDLE'];

/** RFC 9051 7.2.2: in the order Dovecot gives them, IMAP4rev1 first. */
export function capabilities(ctx: CapabilityContext): string[] {
  if (ctx.authenticated) {
    return [...COMMON, 'NAMESPACE', 'UNSELECT', 'UIDPLUS', 'MOVE', 'CHILDREN', 'SPECIAL-USE', 'CONDSTORE'];
  }
  const caps = [...COMMON];
  if (!ctx.secure && ctx.starttls) caps.push('STARTTLS');
  if (loginAllowed(ctx)) caps.push('AUTH=PLAIN', 'AUTH=LOGIN');
  else caps.push('LOGINDISABLED');
  return caps;
}

export function loginAllowed(ctx: Pick<CapabilityContext, 'secure' | 'plaintextLogin'>): boolean {
  return ctx.secure || ctx.plaintextLogin;
}

/** What ENABLE may turn on (RFC 5161): the extensions with a behaviour to switch. */
export const ENABLEABLE = ['IMAP4REV2', 'CONDSTORE'] as const;
