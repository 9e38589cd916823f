/**
 * The composition root: the only place that creates pools, backends, certificates and
 * listeners, and wires them together. Everything else receives its dependencies.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import { pino } from 'pino';
import type { Config } from './config/load.js';
import type { ListenerName } from './config/schema.js';
import type { Logger } from './core/logger.js';
import { Directory } from './directory/directory.js';
import { MysqlBackend } from './directory/mysql/backend.js';
import { PasswdFileBackend } from './directory/passwd-file/backend.js';
import { PasswordHasher } from './directory/schemes/index.js';
import type { DirectoryBackend } from './directory/types.js';
import { Daemon } from './daemon/daemon.js';
import { LocalDelivery } from './delivery/local-delivery.js';
import { LmtpService } from './protocols/smtp/lmtp.js';
import { MxService } from './protocols/smtp/mx.js';
import { SubmissionService } from './protocols/smtp/submission.js';
import { LoginService } from './protocols/sasl/login-service.js';
import { smtpTurnaway } from './protocols/smtp/turnaway.js';
import { BccMaps } from './delivery/bcc.js';
import { Router } from './delivery/routing.js';
import { Dnsbl } from './security/dnsbl.js';
import { MessageAuthenticator } from './security/mail-auth.js';
import { DnsSenderDomainCheck } from './security/sender-domain.js';
import { Spool } from './queue/spool.js';
import { AuthGuard } from './security/auth-guard.js';
import { RateWindow } from './security/rate-window.js';
import { NetworkList } from './core/cidr.js';
import { SystemResolver } from './core/resolver.js';
import { sessionIdSource } from './core/session-id.js';
import { MaildirStore } from './mailstore/maildir/store.js';
import { Listener, type ConnectionHandler, type ConnectionLimits, type Turnaway } from './daemon/listener.js';
import { logDestination } from './daemon/log-output.js';
import { TLS_SERVER_OPTIONS, TlsCertificates } from './daemon/tls.js';
import { willDropPrivileges } from './daemon/service-account.js';
import { placeholderHandler } from './protocols/placeholder.js';
import { ImapServer } from './protocols/imap/server.js';

/** JSON lines, or readable lines on a terminal (`log.format`, `TSMAIL_LOG_FORMAT`); stdout unless `destination`. */
export async function createLogger(config: Config, destination?: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): Promise<Logger> {
  const stream = await logDestination(config.log.format, env, destination);
  // Annotated: pino's inferred type indexes its levels by any string, `then` included, which an async function cannot return.
  const log: Logger = pino({ level: config.log.level, base: { pid: process.pid } }, stream);
  return log;
}

export function createBackend(config: Config, log: Logger): PasswdFileBackend | MysqlBackend {
  const d = config.directory;
  if (d.backend === 'mysql') {
    const m = d.mysql;
    return new MysqlBackend(
      {
        socket: m.socket, host: m.host, port: m.port, user: m.user, password: m.password, database: m.database,
        preset: m.preset, queries: { ...m.queries },
        connectTimeoutMs: m.connect_timeout * 1000, queryTimeoutMs: m.query_timeout * 1000, poolSize: m.pool_size,
      },
      log.child({ component: 'mysql' }),
    );
  }
  return new PasswdFileBackend({
    passwdFile: d.passwd_file, aliasesFile: d.aliases_file, domainsFile: d.domains_file, configDomains: d.domains,
    onStale: (file, err) => log.error(
      { file, err: err.code, uid: process.getuid?.() },
      `cannot read ${file} any more (${err.code}); still using what was read before. Make it readable by this user (e.g. chgrp the daemon's group and chmod 0640), then reload`,
    ),
  });
}

/** `oneShot`: a CLI command hashing once computes inline instead of starting a worker thread. */
export function createPasswordHasher(config: Config, oneShot = false): PasswordHasher {
  return new PasswordHasher({
    defaultScheme: config.directory.default_pass_scheme,
    cacheTtlMs: config.directory.auth_cache_ttl * 1000,
    workers: oneShot ? 0 : Math.max(1, Math.min(4, availableParallelism() - 1)),
    // Started as root, the daemon starts its threads before switching users (they load program
    // files the service user may not be able to read) and keeps them: none could start later.
    ...(!oneShot && willDropPrivileges(config.daemon) ? { workerIdleMs: 0 } : {}),
  });
}

export function createDirectory(config: Config, backend: DirectoryBackend, hasher: PasswordHasher, log: Logger): Directory {
  return new Directory(backend, hasher, {
    mailLocation: config.mail.location,
    recipientDelimiter: config.mail.recipient_delimiter,
  }, log.child({ component: 'directory' }));
}

/** The Maildir store with the configured special-use folders and Trash allowance. */
export function createMailStore(config: Config, log: Logger): MaildirStore {
  const f = config.mail.folders;
  const specialUse = ([['drafts', '\\Drafts'], ['sent', '\\Sent'], ['trash', '\\Trash'], ['junk', '\\Junk'], ['archive', '\\Archive']] as const)
    .filter(([key]) => f[key] !== '')
    .map(([key, use]) => ({ name: f[key], use }));
  return new MaildirStore({
    log: log.child({ component: 'mailstore' }),
    hostname: config.hostname,
    specialUse,
    quotaExtra: f.trash && config.mail.trash_quota_extra ? { [f.trash]: config.mail.trash_quota_extra } : {},
  });
}

const IMPLICIT_TLS: ReadonlySet<ListenerName> = new Set(['submissions', 'imaps', 'pop3s']);
/**
 * Always allowed on LMTP over TCP, besides mynetworks: this host itself, where the Postfix in
 * front runs during a migration (`lmtp:inet:127.0.0.1:24`) even when mynetworks leaves it out.
 */
const LOOPBACK = ['127.0.0.1/32', '[::ffff:127.0.0.1]/128', '[::1]/128'];

export function createDaemon(config: Config, log: Logger): Daemon {
  const backend = createBackend(config, log);
  const hasher = createPasswordHasher(config);
  const directory = createDirectory(config, backend, hasher, log);
  const store = createMailStore(config, log);
  const certs = new TlsCertificates(
    { cert: config.tls.cert, key: config.tls.key, dataDir: config.data_dir, hostname: config.hostname },
    log.child({ component: 'tls' }),
  );
  const delivery = new LocalDelivery({ directory, store, log: log.child({ component: 'delivery' }) });
  // One source of session ids for every listener: ids are unique in the process's logs.
  const sessionIds = sessionIdSource();
  // A handshake never gets longer than an idle client would.
  const handshakeTimeoutMs = Math.min(config.smtp.tls_handshake_timeout, config.smtp.timeout) * 1000;
  const limits = { timeoutMs: config.smtp.timeout * 1000, handshakeTimeoutMs };
  // Postfix's error limits apply to every smtpd; LMTP is Dovecot's in the seeds, which has none.
  const errors = { soft: config.smtp.soft_error_limit, hard: config.smtp.hard_error_limit, sleepMs: config.smtp.error_sleep_time };
  // smtpd_recipient_limit covers submission too (Postfix applies it to every smtpd); LMTP keeps
  // the library-wide cap, as Postfix's lmtp client splits its deliveries by its own limit.
  const submissionLimits = { ...limits, errors, maxRecipients: config.smtp.recipient_limit };
  const lmtp = new LmtpService({
    limits,
    hostname: config.hostname, maxMessageSize: config.mail.max_message_size, delivery, sessionIds, log: log.child({ listener: 'lmtp' }),
  });
  const spool = new Spool(path.join(config.data_dir, 'queue'));
  const resolver = new SystemResolver(config.dns.servers, config.dns.timeout * 1000);
  const bcc = new BccMaps(config.mail.sender_bcc, config.mail.recipient_bcc, config.mail.recipient_delimiter);
  const router = new Router(delivery, spool, bcc, log.child({ component: 'routing' }));
  const tlsOptions = {
    options: () => ({ ...TLS_SERVER_OPTIONS }),
    // Certificates are loaded at start(): smtp-server gets them then through attach.
    attach: (server: { setSecureContext(o: SecureContextOptions): void }) => certs.attach(server),
  };
  const authenticator = config.smtp.verify_sender_auth
    ? new MessageAuthenticator(resolver, config.hostname, { dmarcReject: config.smtp.dmarc_reject, spfReject: config.smtp.spf_reject }, log.child({ component: 'mailauth' }))
    : undefined;
  const mx = new MxService({
    limits: { ...limits, errors },
    hostname: config.hostname,
    maxMessageSize: config.mail.max_message_size,
    policy: {
      mynetworks: new NetworkList(config.smtp.mynetworks),
      recipientLimit: config.smtp.recipient_limit,
      heloRequired: config.smtp.helo_required,
      rejectInvalidHelo: config.smtp.reject_invalid_helo_hostname,
      rejectNonFqdnHelo: config.smtp.reject_non_fqdn_helo_hostname,
      rejectNonFqdnSender: config.smtp.reject_non_fqdn_sender,
      rejectNonFqdnRecipient: config.smtp.reject_non_fqdn_recipient,
      rejectUnknownSenderDomain: config.smtp.reject_unknown_sender_domain,
      messageRateLimit: config.smtp.client_message_rate_limit,
      recipientRateLimit: config.smtp.client_recipient_rate_limit,
      rejectSenderTlds: config.smtp.rejected_sender_tlds,
      greetPauseMs: config.smtp.greet_pause,
      greetAction: config.smtp.greet_action,
    },
    router,
    senderDomains: new DnsSenderDomainCheck(resolver, directory),
    dnsbl: new Dnsbl(config.smtp.dnsbl, resolver, log.child({ component: 'dnsbl' })),
    authenticator,
    messageRate: new RateWindow(config.smtp.rate_time_unit * 1000),
    recipientRate: new RateWindow(config.smtp.rate_time_unit * 1000),
    tls: tlsOptions,
    sessionIds,
    log: log.child({ listener: 'smtp' }),
  });
  // One guard for every login service, so failures on any protocol count together.
  const guard = new AuthGuard({
    maxFailures: config.security.auth_max_failures,
    windowMs: config.security.auth_failure_window * 1000,
    banMs: config.security.auth_ban_time * 1000,
    failureDelayMs: config.security.auth_failure_delay * 1000,
    ignore: new NetworkList(config.security.ignoreip),
  });
  const login = new LoginService({ guard, directory, log: log.child({ component: 'login' }) });
  const submissionFor = (implicitTls: boolean) => new SubmissionService({
    limits: submissionLimits,
    hostname: config.hostname,
    maxMessageSize: config.mail.max_message_size,
    implicitTls,
    rejectSenderLoginMismatch: config.submission.reject_sender_login_mismatch,
    login,
    directory,
    router,
    tls: tlsOptions,
    sessionIds,
    log: log.child({ listener: implicitTls ? 'submissions' : 'submission' }),
  });
  const submission = submissionFor(false);
  const submissions = submissionFor(true);
  const imapFor = (implicitTls: boolean) => new ImapServer({
    services: {
      login,
      openMailbox: (user) => store.openMailbox(user.maildir, { bytes: user.quotaBytes, messages: user.quotaMessages }),
      maxAppendSize: config.mail.max_message_size,
    },
    hostname: config.hostname,
    implicitTls,
    tlsContext: () => certs.context(),
    plaintextLogin: config.imap.login_without_tls,
    timeouts: { preAuth: config.imap.preauth_timeout * 1000, authenticated: config.imap.timeout * 1000, handshake: handshakeTimeoutMs },
    limits: {
      maxLine: config.imap.max_line_length,
      maxLiteral: config.imap.max_line_length,
      maxCommand: config.imap.max_line_length * 4,
      maxWriteBuffer: config.imap.max_write_buffer,
    },
    sessionIds,
    log: log.child({ listener: implicitTls ? 'imaps' : 'imap' }),
  });
  const imap = imapFor(false);
  const imaps = imapFor(true);
  const handlers: Partial<Record<ListenerName, ConnectionHandler>> = {
    imap: (s, adopt) => imap.handle(s, adopt),
    imaps: (s) => imaps.handle(s),
    lmtp: (s) => lmtp.handle(s),
    smtp: (s, adopt) => mx.handle(s, adopt),
    submission: (s, adopt) => submission.handle(s, adopt),
    submissions: (s) => submissions.handle(s),
  };
  const listeners: Listener[] = [];
  const mynetworks = new NetworkList(config.smtp.mynetworks);
  const lmtpAllowed = new NetworkList(config.lmtp.allowed ?? [...config.smtp.mynetworks, ...LOOPBACK]);
  const isImap = (name: ListenerName) => name === 'imap' || name === 'imaps';
  const connectionLimits = (name: ListenerName): ConnectionLimits => ({
    maxConnections: isImap(name) ? config.imap.max_clients : config.smtp.max_clients,
    perClient: isImap(name) ? config.imap.client_connection_limit : config.smtp.client_connection_count_limit,
    // LMTP's allowed clients are the MTAs in front, which open as many connections as their
    // delivery concurrency (Postfix: 20), and Dovecot's LMTP has no per-IP limit either.
    exempt: name === 'lmtp' ? (ip) => mynetworks.has(ip) || lmtpAllowed.has(ip) : (ip) => mynetworks.has(ip),
    ...(name === 'lmtp' ? { allowed: (ip: string) => lmtpAllowed.has(ip) } : {}),
  });
  const turnaways: Partial<Record<ListenerName, (why: Turnaway) => string>> = {
    smtp: smtpTurnaway(config.hostname, 'SMTP'),
    submission: smtpTurnaway(config.hostname, 'SMTP'),
    lmtp: smtpTurnaway(config.hostname, 'LMTP'),
    // RFC 9051 7.1.5: BYE instead of a greeting; clients retry later.
    imap: () => '* BYE [UNAVAILABLE] Too many connections, try again later.\r\n',
  };
  for (const [name, address] of Object.entries(config.listen) as [ListenerName, Config['listen'][ListenerName]][]) {
    if (!address) continue;
    listeners.push(new Listener({
      name,
      address,
      // A client that never completes the handshake is not yet a session anyone times out:
      // the TLS server must (Node's default would hold it for 120 s).
      tls: IMPLICIT_TLS.has(name)
        ? { options: () => ({ ...certs.serverOptions(), handshakeTimeout: handshakeTimeoutMs }), attach: (s) => certs.attach(s) }
        : undefined,
      handler: handlers[name] ?? placeholderHandler(name, config.hostname),
      limits: connectionLimits(name),
      turnaway: turnaways[name],
      ...(name === 'imap' ? { drain: () => imap.drain() } : name === 'imaps' ? { drain: () => imaps.drain() } : {}),
    }, log.child({ listener: name })));
  }
  const spoolLog = log.child({ component: 'queue' });
  return new Daemon({
    config, log, certs, directory, listeners, closers: [hasher, { close: () => store.flush() }],
    starters: [async () => {
      const { removed } = await spool.init();
      if (removed) spoolLog.info({ removed }, `removed ${removed} unacknowledged file(s) left in the queue's tmp/ by an earlier run`);
    }],
    stateDirs: () => [...spool.directories(), ...certs.directories()],
    // Started as root with daemon.user: what the process would otherwise read or load on first
    // use, later, when the service user may not be allowed to (a 0600 passwd-file; program files
    // in a directory only root can enter, as a checkout under /root). Costs memory only then.
    beforeDrop: [
      () => backend.preload(),
      () => hasher.prestartWorkers(),
      async () => authenticator?.preload(),
    ],
  });
}
