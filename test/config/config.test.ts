import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseConfigPath, defaultConfigPath, loadConfig, parseConfig } from '../../src/config/load.js';
import { parseListen } from '../../src/config/listen.js';
import { PASS_SCHEME_NAMES, configSchema } from '../../src/config/schema.js';
import { ConfigError } from '../../src/core/errors.js';
import { repoRoot } from '../helpers/tmp.js';

const file = '/etc/tsmail/tsmail.toml';

describe('config', () => {
  it('gives the pinned defaults for an empty file', () => {
    const c = parseConfig('', file);
    expect(c.hostname).toBe('mail.example.test');
    expect(c.data_dir).toBe('/etc/tsmail/data');
    expect(c.listen.smtp).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 2525 });
    expect(c.listen.pop3s).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 2995 });
    expect(c.directory.backend).toBe('passwd-file');
    expect(c.directory.passwd_file).toBe('/etc/tsmail/data/users');
    expect(c.directory.mysql.preset).toBe('linode');
    expect(c.directory.default_pass_scheme).toBe('SHA512-CRYPT');
    expect(c.mail.location).toBe('maildir:/etc/tsmail/data/vmail/%d/%n');
    expect(c.mail.max_message_size).toBe(50 * 1024 * 1024);
    expect(c.mail.recipient_delimiter).toBe('+');
    expect(c.dns.servers).toEqual([]);
    expect(c.dns.timeout).toBe(5);
    expect(c.mail.folders).toEqual({ drafts: 'Drafts', sent: 'Sent', trash: 'Trash', junk: 'Junk', archive: '' });
    expect(c.mail.trash_quota_extra).toBe(0);
    expect([c.mail.sender_bcc, c.mail.recipient_bcc]).toEqual([{}, {}]);
    expect(c.smtp).toEqual({
      mynetworks: ['127.0.0.0/8', '[::ffff:127.0.0.0]/104', '[::1]/128'], recipient_limit: 50, helo_required: true,
      reject_invalid_helo_hostname: true, reject_non_fqdn_helo_hostname: true, reject_non_fqdn_sender: true, reject_non_fqdn_recipient: true, reject_unknown_sender_domain: true,
      client_connection_count_limit: 10, client_message_rate_limit: 100, client_recipient_rate_limit: 200, rate_time_unit: 60, timeout: 300, max_clients: 100, tls_handshake_timeout: 10,
      rejected_sender_tlds: [], dnsbl: [], verify_sender_auth: true, dmarc_reject: true, spf_reject: false,
      greet_pause: 0, greet_action: 'enforce', soft_error_limit: 10, hard_error_limit: 20, error_sleep_time: 1000,
    });
    expect(c.security).toMatchObject({ auth_max_failures: 5, auth_failure_window: 600, auth_ban_time: 3600 });
    expect(c.submission.reject_sender_login_mismatch).toBe(true);
    expect(c.lmtp.allowed).toBeUndefined();
    expect(Object.isFrozen(c.directory.mysql)).toBe(true);
  });

  it('takes greet_pause as seconds or with a unit, and names the key when it is wrong', () => {
    expect(parseConfig('[smtp]\ngreet_pause = 6\n', file).smtp.greet_pause).toBe(6000);
    expect(parseConfig('[smtp]\ngreet_pause = 0.5\n', file).smtp.greet_pause).toBe(500);
    expect(parseConfig('[smtp]\ngreet_pause = "250ms"\n', file).smtp.greet_pause).toBe(250);
    expect(parseConfig('[smtp]\ngreet_pause = "2s"\ngreet_action = "drop"\n', file).smtp).toMatchObject({ greet_pause: 2000, greet_action: 'drop' });
    for (const bad of ['"soon"', '-1', '"5h"']) expect(() => parseConfig(`[smtp]\ngreet_pause = ${bad}\n`, file)).toThrow(/smtp\.greet_pause: expected a duration/);
    expect(() => parseConfig('[smtp]\ngreet_action = "ignore"\n', file)).toThrow(/smtp\.greet_action/);
  });

  it('loads the embedded default and the production example', async () => {
    const def = await loadConfig(defaultConfigPath());
    expect(def.data_dir).toBe(path.join(repoRoot, 'data'));
    expect(def.listen.imap).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 2143 });
    const prod = await loadConfig(path.join(repoRoot, 'config/production.example.toml'));
    expect(prod.listen.smtp).toEqual({ kind: 'tcp', host: '0.0.0.0', port: 25 });
    expect(prod.listen.lmtp).toEqual({ kind: 'unix', path: '/var/spool/postfix/private/dovecot-lmtp' });
    expect(prod.mail.location).toBe('maildir:/var/mail/vhosts/%d/%n');
    expect(prod.tls.cert).toBe('/etc/letsencrypt/live/mail.example.com/fullchain.pem');
    expect(prod.directory.backend).toBe('mysql');
    expect(prod.mail.folders.junk).toBe('Spam');
    expect(prod.mail.trash_quota_extra).toBe(100 * 1024 * 1024);
  });

  it('resolves relative paths: data_dir against the file, the rest against data_dir', () => {
    const c = parseConfig('data_dir = "../var"\n[tls]\ncert = "c.pem"\nkey = "/abs/k.pem"\n[mail]\nlocation = "maildir:~/Maildir"\n', file);
    expect(c.data_dir).toBe('/etc/var');
    expect(c.tls).toEqual({ cert: '/etc/var/c.pem', key: '/abs/k.pem' });
    expect(c.mail.location).toBe('maildir:~/Maildir');
  });

  it('disables listeners with ""', () => {
    expect(parseConfig('[listen]\npop3 = ""\n', file).listen.pop3).toBeNull();
  });

  it.each([
    ['unknown top-level key', 'colour = "blue"', 'colour: unknown key'],
    ['unknown nested key', '[listen]\nsmtpd = "1.2.3.4:25"', 'listen.smtpd: unknown key'],
    ['unknown section', '[bogus]\nx = 1', 'bogus: unknown key'],
    ['bad listen', '[listen]\nsmtp = "localhost"', 'listen.smtp: expected'],
    ['port range', '[listen]\nimap = "127.0.0.1:99999"', 'listen.imap: port out of range'],
    ['bad size', '[mail]\nmax_message_size = "huge"', 'mail.max_message_size: invalid size'],
    ['bad backend', '[directory]\nbackend = "ldap"', 'directory.backend'],
    ['bad scheme', '[directory]\ndefault_pass_scheme = "MD4"', 'directory.default_pass_scheme'],
    ['bad preset', '[directory.mysql]\npreset = "vpopmail"', 'directory.mysql.preset'],
    ['bad port type', '[directory.mysql]\nport = "3306"', 'directory.mysql.port'],
    ['bad location', '[mail]\nlocation = "mbox:~/mail"', 'mail.location: only "maildir:PATH"'],
    ['bad dns', '[dns]\nservers = ["dns.google"]', 'dns.servers.0'],
    ['bad hostname', 'hostname = "not a host"', 'hostname: not a valid host name'],
    ['bad domain', '[directory]\ndomains = ["ok.test", "bad domain"]', 'directory.domains.1'],
    ['bad network', '[smtp]\nmynetworks = ["localhost"]', 'smtp.mynetworks.0'],
    ['bad TLD', '[smtp]\nrejected_sender_tlds = ["xyz", "a b"]', 'smtp.rejected_sender_tlds.1'],
    ['bad DNSBL zone', '[smtp]\ndnsbl = ["zen.spamhaus.org=127.0.0"]', 'smtp.dnsbl.0'],
    ['bad bcc key', '[mail.sender_bcc]\n"boss" = "archive@example.com"', 'mail.sender_bcc.boss'],
    ['bad bcc target', '[mail.recipient_bcc]\n"@example.com" = "archive"', 'mail.recipient_bcc.@example.com'],
  ])('rejects %s naming the key', (_n, toml, message) => {
    expect(() => parseConfig(toml, file)).toThrow(ConfigError);
    expect(() => parseConfig(toml, file)).toThrow(message);
  });

  it('reports TOML syntax errors with a line number', () => {
    expect(() => parseConfig('hostname = "x\n', file)).toThrow(/TOML syntax error \(line 1/);
  });

  it('reports a missing file clearly', async () => {
    await expect(loadConfig('/nonexistent/tsmail.toml')).rejects.toThrow(/cannot read config file \/nonexistent\/tsmail.toml: ENOENT/);
  });

  it('chooses --config over TSMAIL_CONFIG over the default', () => {
    expect(chooseConfigPath('/a.toml', { TSMAIL_CONFIG: '/b.toml' })).toBe('/a.toml');
    expect(chooseConfigPath(undefined, { TSMAIL_CONFIG: '/b.toml' })).toBe('/b.toml');
    expect(chooseConfigPath(undefined, {})).toBe(defaultConfigPath());
  });

  it('parses listen addresses', () => {
    expect(parseListen('[::1]:143')).toEqual({ kind: 'tcp', host: '::1', port: 143 });
    expect(parseListen(':25')).toEqual({ kind: 'tcp', host: '::', port: 25 });
    expect(parseListen('unix:/run/lmtp')).toEqual({ kind: 'unix', path: '/run/lmtp' });
    expect(typeof parseListen('25')).toBe('string');
  });

  it('keeps the scheme list in step with the password module', async () => {
    const { SCHEMES } = await import('../../src/directory/schemes/index.js');
    expect([...PASS_SCHEME_NAMES].sort()).toEqual([...SCHEMES].sort());
  });

  it('documents every key of the schema in the production example', async () => {
    const text = await readFile(path.join(repoRoot, 'config/production.example.toml'), 'utf8');
    const missing = schemaKeys(configSchema).filter((key) => !new RegExp(`^#? ?${key} =`, 'm').test(text));
    expect(missing).toEqual([]);
  });
});

/** Every leaf key name of the config schema (objects are walked; maps like sender_bcc are leaves). */
function schemaKeys(schema: unknown): string[] {
  const out: string[] = [];
  const walk = (s: unknown): void => {
    let inner = s as { shape?: Record<string, unknown>; def?: { innerType?: unknown; in?: unknown } };
    // unwrap defaults, prefaults and pipes (transforms) down to the object, if any
    for (let i = 0; i < 10 && !inner.shape && (inner.def?.innerType || inner.def?.in); i++) inner = (inner.def.innerType ?? inner.def.in) as typeof inner;
    if (!inner.shape) return;
    for (const [key, value] of Object.entries(inner.shape)) {
      const before = out.length;
      walk(value);
      if (out.length === before) out.push(key);
    }
  };
  walk(schema);
  return [...new Set(out)];
}
