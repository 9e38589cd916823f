import type { SMTPServerSession } from 'smtp-server';

/**
 * The `Received:` trace line (RFC 5321 4.4) put on top of every message taken in, with the TLS
 * version and cipher as Postfix's smtpd_tls_received_header, and the authenticated user on
 * submission (smtpd_sasl_authenticated_header in seed 004).
 */
export function receivedHeader(session: SMTPServerSession, by: string, opts: { forRecipient?: string; user?: string; date: Date }): string {
  const helo = (session.hostNameAppearsAs || 'unknown').replace(/[^A-Za-z0-9.\-:[\]_]/g, '?').slice(0, 255);
  const lines = [`Received: from ${helo} ([${session.remoteAddress}])`];
  if (session.secure && session.tlsOptions) lines.push(`(using ${session.tlsOptions.version ?? 'TLS'} with cipher ${session.tlsOptions.name})`);
  if (opts.user) lines.push(`(Authenticated sender: ${opts.user})`);
  lines.push(`by ${by} (tsmail) with ${session.transmissionType || 'ESMTP'} id ${session.id}${opts.forRecipient ? '' : ';'}`);
  if (opts.forRecipient) lines.push(`for <${opts.forRecipient}>;`);
  lines.push(opts.date.toUTCString().replace('GMT', '+0000'));
  return lines.join('\r\n\t') + '\r\n';
}
