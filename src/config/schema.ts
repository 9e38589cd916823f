/**
 * The configuration schema: types, defaults and validation, no I/O (load.ts reads the file).
 * Key names are pinned: operators' files and later modules rely on them. Unknown keys are errors.
 */
import { z } from 'zod';
import { parseListen, type ListenAddress } from './listen.js';
import { parseSize } from '../core/size.js';
import { isValidDomain } from '../core/address.js';
import { NetworkList } from '../core/cidr.js';

/** Dovecot scheme names accepted for `default_pass_scheme` (kept equal to schemes/index.ts by a test). */
export const PASS_SCHEME_NAMES = [
  'SHA512-CRYPT', 'SHA256-CRYPT', 'BLF-CRYPT', 'MD5-CRYPT', 'SHA512', 'SSHA512', 'ARGON2I', 'ARGON2ID', 'PLAIN',
] as const;

export const MYSQL_PRESETS = ['platform', 'linode', 'isdel', 'postfixadmin', 'custom'] as const;

const listen = z.string().transform((value, ctx): ListenAddress | null => {
  if (value === '') return null;
  const parsed = parseListen(value);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

const size = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return parseSize(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** A duration: seconds as a number, or a string with a unit ("500ms", "6s", "2m"); in milliseconds. */
const duration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const m = typeof value === 'number' ? [String(value), String(value), 's'] : /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(value);
  const n = m ? Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 } as const)[(m[2] ?? 's') as 'ms' | 's' | 'm'] : NaN;
  if (!Number.isFinite(n) || n < 0) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration: seconds, or a number with ms, s or m (e.g. "6s")' });
    return z.NEVER;
  }
  return Math.round(n);
});

const domain = z.string().refine((d) => isValidDomain(d.toLowerCase()), { message: 'not a valid domain name' })
  .transform((d) => d.toLowerCase());

const hostPort = z.string().refine((s) => /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:]+)(:\d{1,5})?$/.test(s), {
  message: 'expected an IP address with optional :port, e.g. "127.0.0.1:5353"',
});

const listenSection = z.strictObject({
  smtp: listen.prefault('127.0.0.1:2525'),
  submission: listen.prefault('127.0.0.1:2587'),
  submissions: listen.prefault('127.0.0.1:2465'),
  lmtp: listen.prefault('127.0.0.1:2424'),
  imap: listen.prefault('127.0.0.1:2143'),
  imaps: listen.prefault('127.0.0.1:2993'),
  pop3: listen.prefault('127.0.0.1:2110'),
  pop3s: listen.prefault('127.0.0.1:2995'),
});

const tlsSection = z.strictObject({
  cert: z.string().default(''),
  key: z.string().default(''),
});

const mysqlQueries = z.strictObject({
  domain: z.string().min(1).optional(),
  mailbox: z.string().min(1).optional(),
  alias: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  alias_domain: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  user: z.string().min(1).optional(),
});

const mysqlSection = z.strictObject({
  socket: z.string().default(''),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(1).max(65535).default(3306),
  user: z.string().default('mailuser'),
  password: z.string().default(''),
  database: z.string().min(1).default('mailserver'),
  preset: z.enum(MYSQL_PRESETS).default('linode'),
  queries: mysqlQueries.prefault({}),
  connect_timeout: z.number().int().min(1).default(5),
  query_timeout: z.number().int().min(1).default(10),
  pool_size: z.number().int().min(1).max(100).default(10),
});

const directorySection = z.strictObject({
  backend: z.enum(['passwd-file', 'mysql']).default('passwd-file'),
  passwd_file: z.string().min(1).default('users'),
  aliases_file: z.string().min(1).default('aliases'),
  domains_file: z.string().min(1).default('domains'),
  domains: z.array(domain).default(['example.test']),
  default_pass_scheme: z.enum(PASS_SCHEME_NAMES).default('SHA512-CRYPT'),
  auth_cache_ttl: z.number().int().min(0).default(60),
  mysql: mysqlSection.prefault({}),
});

/** Special-use folders created and subscribed at first login (RFC 6154; seeds: `auto = subscribe`). "" = none. */
const foldersSection = z.strictObject({
  drafts: z.string().default('Drafts'),
  sent: z.string().default('Sent'),
  trash: z.string().default('Trash'),
  junk: z.string().default('Junk'),
  archive: z.string().default(''),
});

const bccKey = z.string().regex(/^[^@\s]*@[^@\s]+$/, 'expected "user@domain" or "@domain"');
const bccTarget = z.string().regex(/^[^@\s]+@[^@\s]+$/, 'expected an address "user@domain"');

const mailSection = z.strictObject({
  location: z.string().refine((s) => /^maildir:./.test(s), {
    message: 'only "maildir:PATH" locations are supported (Dovecot syntax, %d %n %u %h expand)',
  }).default('maildir:vmail/%d/%n'),
  max_message_size: size.prefault('50M'),
  recipient_delimiter: z.string().max(8).default('+'),
  /** Extra room in the Trash folder beyond the user's quota (Dovecot `quota_rule2 = Trash:storage=+100M`). */
  trash_quota_extra: size.prefault('0'),
  folders: foldersSection.prefault({}),
  /** sender_bcc_maps / recipient_bcc_maps (seed 004): "user@dom" or "@dom" → address that gets a blind copy. */
  sender_bcc: z.record(bccKey, bccTarget).default({}),
  recipient_bcc: z.record(bccKey, bccTarget).default({}),
});

const cidr = z.string().refine((v) => {
  try {
    new NetworkList([v]);
    return true;
  } catch {
    return false;
  }
}, { message: 'expected an address or network, e.g. "127.0.0.0/8" or "[::1]/128"' });

/** Port 25 policy, defaults as in the seeds' main.cf (Postfix names in comments). */
const smtpSection = z.strictObject({
  /** mynetworks: clients that may relay and skip the HELO checks. */
  mynetworks: z.array(cidr).default(['127.0.0.0/8', '[::ffff:127.0.0.0]/104', '[::1]/128']),
  /** smtpd_recipient_limit (seeds: 40-200). */
  recipient_limit: z.number().int().min(1).default(50),
  /** smtpd_helo_required, reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname. */
  helo_required: z.boolean().default(true),
  reject_invalid_helo_hostname: z.boolean().default(true),
  reject_non_fqdn_helo_hostname: z.boolean().default(true),
  /** reject_non_fqdn_sender, reject_non_fqdn_recipient. */
  reject_non_fqdn_sender: z.boolean().default(true),
  reject_non_fqdn_recipient: z.boolean().default(true),
  /** reject_unknown_sender_domain (no MX/A/AAAA: 550; DNS trouble: 450). */
  reject_unknown_sender_domain: z.boolean().default(true),
  /**
   * Connections at once per client IP on every listener (smtpd_client_connection_count_limit;
   * Postfix applies it to every smtpd, submission too), clients in mynetworks exempt
   * (smtpd_client_event_limit_exceptions). Seed 000. 0 = no limit.
   */
  client_connection_count_limit: z.number().int().min(0).default(10),
  client_message_rate_limit: z.number().int().min(0).default(100),
  client_recipient_rate_limit: z.number().int().min(0).default(200),
  /** anvil_rate_time_unit, seconds. */
  rate_time_unit: z.number().int().min(1).default(60),
  /** check_sender_access with a table of TLDs (seed 004's rejected_tlds): "xyz" refuses user@any.xyz. */
  rejected_sender_tlds: z.array(z.string().regex(/^[a-z0-9-]+(\.[a-z0-9-]+)*$/i, 'expected a domain suffix such as "xyz"').transform((v) => v.toLowerCase())).default([]),
  /** reject_rbl_client: DNS blocklist zones, "zone" or "zone=127.0.0.2" (only that answer counts). */
  dnsbl: z.array(z.string().regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+(=\d+\.\d+\.\d+\.\d+)?$/i, 'expected "zone" or "zone=127.0.0.2"')).default([]),
  /** SPF/DKIM/DMARC/ARC on mail from outside mynetworks, with an Authentication-Results header. */
  verify_sender_auth: z.boolean().default(true),
  /** Refuse mail whose DMARC fails under p=reject (OpenDMARC RejectFailures). */
  dmarc_reject: z.boolean().default(true),
  /** Refuse mail whose SPF result is fail (policyd-spf Mail_From_reject = Fail). */
  spf_reject: z.boolean().default(false),
  /**
   * postscreen_greet_wait: how long port 25 waits before its greeting (0 = at once); clients
   * that talk first are refused as postscreen_greet_action says: "enforce" (every RCPT gets
   * 550 5.5.1, the seeds' choice) or "drop" (521 and disconnect). mynetworks are greeted at once.
   */
  greet_pause: duration.prefault(0),
  greet_action: z.enum(['enforce', 'drop']).default('enforce'),
  /**
   * smtpd_soft_error_limit, smtpd_hard_error_limit, smtpd_error_sleep_time: on the smtp and
   * submission(s) listeners, after this many error replies in a session every reply waits
   * error_sleep_time; after hard_error_limit the client gets 421 and is disconnected. A message
   * transferred successfully starts the count again.
   */
  soft_error_limit: z.number().int().min(1).default(10),
  hard_error_limit: z.number().int().min(1).default(20),
  error_sleep_time: duration.prefault(1),
  /** smtpd_timeout (seconds) and the process limit: for the smtp, submission(s) and lmtp listeners each. */
  timeout: z.number().int().min(1).default(300),
  /** Connections at once per listener (every listener), TLS handshakes in progress included. */
  max_clients: z.number().int().min(1).default(100),
  /**
   * Seconds a TLS handshake may take, on 465 (and 993/995) and after STARTTLS (Postfix
   * smtpd_starttls_timeout, 300 s there): a client that connects and never finishes its
   * handshake holds a connection slot and a file descriptor until then.
   */
  tls_handshake_timeout: z.number().int().min(1).default(10),
});

/** LMTP over TCP (the unix socket is for whoever may open it: its file permissions decide). */
const lmtpSection = z.strictObject({
  /**
   * Clients that may deliver over LMTP TCP; none given: smtp.mynetworks and this host (127.0.0.1, ::1). LMTP
   * trusts its client completely (any recipient, no checks), as Dovecot's does behind a firewall.
   */
  allowed: z.array(cidr).optional(),
});

/** Failed-login protection shared by submission, IMAP and POP3 (what fail2ban did in the seeds). */
const securitySection = z.strictObject({
  auth_max_failures: z.number().int().min(1).default(5),
  /** Seconds over which failures are counted, and how long a ban lasts. */
  auth_failure_window: z.number().int().min(1).default(600),
  auth_ban_time: z.number().int().min(0).default(3600),
  /**
   * Dovecot auth_failure_delay (seconds, fractions allowed): every failed login is answered after
   * this delay, doubling with each failure of the IP or account in the window (up to 15 s).
   */
  auth_failure_delay: z.number().min(0).max(60).default(2),
  /** fail2ban ignoreip: never banned (failures still slowed down). */
  ignoreip: z.array(cidr).default(['127.0.0.0/8', '[::ffff:127.0.0.0]/104', '[::1]/128']),
});

const submissionSection = z.strictObject({
  /** Postfix reject_sender_login_mismatch: users may only send as their own addresses and aliases. */
  reject_sender_login_mismatch: z.boolean().default(true),
});

/** The IMAP server (imap and imaps listeners); defaults as Dovecot's. */
const imapSection = z.strictObject({
  /**
   * LOGIN and AUTHENTICATE on port 143 before STARTTLS (Dovecot disable_plaintext_auth = no).
   * Off: LOGINDISABLED and no AUTH= until TLS, loopback clients included.
   */
  login_without_tls: z.boolean().default(false),
  /** Seconds of inactivity before login (Dovecot's login processes: 180) and after (RFC 9051 5.4: 30 min at least). */
  preauth_timeout: z.number().int().min(1).default(180),
  timeout: z.number().int().min(1800).default(1800),
  /** Dovecot imap_max_line_length: longest command line, and longest literal inside a command. */
  max_line_length: size.prefault('64k'),
  /** Bytes waiting in a connection's send buffer before the server stops reading and producing. */
  max_write_buffer: size.prefault('256k'),
  /**
   * Connections at once on each of imap/imaps (TLS handshakes included) and per client IP
   * (0 = none; mynetworks exempt). Mail clients stay connected all day (IDLE), several per
   * device, so these are far above the SMTP listeners' smtp.max_clients.
   */
  max_clients: z.number().int().min(1).default(10000),
  client_connection_limit: z.number().int().min(0).default(50),
});

const dnsSection = z.strictObject({
  servers: z.array(hostPort).default([]),
  /** Seconds to wait for one answer before asking again (twice in all), then a temporary failure. */
  timeout: z.number().min(0.1).max(60).default(5),
});

export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;

const logSection = z.strictObject({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** auto: readable lines when stdout is a terminal (`npm start`), JSON lines otherwise (journald, pipes, files). */
  format: z.enum(LOG_FORMATS).default('auto'),
});

const daemonSection = z.strictObject({
  /** Seconds that running sessions get to finish after SIGTERM. */
  shutdown_timeout: z.number().min(0).default(30),
  /** When started as root: the unprivileged user/group to switch to after binding ports. */
  user: z.string().default(''),
  group: z.string().default(''),
});

export const configSchema = z.strictObject({
  hostname: z.string().refine((h) => isValidDomain(h.toLowerCase()), { message: 'not a valid host name' })
    .default('mail.example.test'),
  data_dir: z.string().min(1).default('./data'),
  listen: listenSection.prefault({}),
  tls: tlsSection.prefault({}),
  directory: directorySection.prefault({}),
  mail: mailSection.prefault({}),
  smtp: smtpSection.prefault({}),
  submission: submissionSection.prefault({}),
  lmtp: lmtpSection.prefault({}),
  imap: imapSection.prefault({}),
  security: securitySection.prefault({}),
  dns: dnsSection.prefault({}),
  log: logSection.prefault({}),
  daemon: daemonSection.prefault({}),
});

/** The config as parsed from TOML, before paths are resolved. */
export type RawConfig = z.output<typeof configSchema>;
export type ListenerName = keyof RawConfig['listen'];
export type PassSchemeName = (typeof PASS_SCHEME_NAMES)[number];
export type MysqlPreset = (typeof MYSQL_PRESETS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Formats zod issues as `key.path: message` lines, one per problem. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .flatMap((issue) => {
      const at = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((k) => `${at ? `${at}.` : ''}${k}: unknown key`);
      }
      return [`${at || '(top level)'}: ${issue.message}`];
    })
    .join('\n');
}
