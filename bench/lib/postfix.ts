/**
 * A private Postfix for the benchmarks, in the temp tree and on loopback only:
 *
 *   <dir>/<name>/etc/{main.cf,master.cf,vmailbox}   config_directory (`postfix -c <etc>`)
 *   <dir>/<name>/queue                               queue_directory (root-owned, subdirs by `postfix check`)
 *   <dir>/<name>/data                                data_directory (owned by mail_owner = postfix)
 *   <dir>/<name>/postfix.log                         maillog_file (postlogd; no syslog needed)
 *
 * One smtpd on 127.0.0.1:<free port>; `virtual_mailbox_domains` = the bench domain with a
 * texthash `virtual_mailbox_maps` of the bench users, `virtual_transport = lmtp:inet:127.0.0.1:<port>`
 * (the private Dovecot's LMTP). Nothing can leave loopback: `relayhost =`, `default_transport` and
 * `relay_transport` are `error:`, `mydestination =` (no local(8) delivery), no DNS is consulted
 * (numeric next hop, `smtpd_peername_lookup = no`). Every daemon runs unchrooted (so no copies of
 * /etc files in the queue directory are needed); all other settings are Postfix 3.7's defaults at
 * `compatibility_level = 3.6` (Debian's main.cf): the queue file is fsynced before `250`,
 * smtpd_*_restrictions empty apart from the relay check, mynetworks exempt from client limits,
 * in_flow_delay = 1s, lmtp destination concurrency 20, connection caching on demand. A distinct
 * config/queue/data directory, port and master lock per instance keep it apart from a system
 * Postfix (none needs to run; multi_instance is not used).
 *
 * STARTTLS (`tlsChainFile`, a PEM with the key and then the certificate): offered as Debian's
 * main.cf does (`smtpd_tls_security_level = may`, a server-side session cache
 * `btree:$data_directory/smtpd_scache`, the default `smtpd_tls_session_cache_timeout = 3600s`,
 * and tlsmgr(8) in master.cf, which also supplies the keys for RFC 5077 session tickets), so a
 * client that offers its previous session can resume it, TLS 1.2 or 1.3.
 */
import { existsSync } from 'node:fs';
import { chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, waitForListener } from './net.js';
import { alive, processTree, run, waitGone } from './proc.js';

export const POSTFIX = '/usr/sbin/postfix';

/** Why Postfix cannot be used here, or null if it can. */
export function postfixMissing(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  if (!existsSync(POSTFIX) || !existsSync('/usr/lib/postfix/sbin/master')) return `${POSTFIX} missing (apt-get install postfix)`;
  return null;
}

export async function postfixVersion(): Promise<string> {
  const r = await run('/usr/sbin/postconf', ['-h', '-d', 'mail_version']);
  return r.code === 0 ? r.out.trim() : '?';
}

export interface PostfixOptions {
  /** Addresses that exist (virtual_mailbox_maps). */
  users: readonly string[];
  domain: string;
  /** Where virtual_transport delivers: lmtp:inet:127.0.0.1:<lmtpPort>. */
  lmtpPort: number;
  hostname?: string;
  /** Offer STARTTLS with this key+certificate PEM (smtpd_tls_chain_files). */
  tlsChainFile?: string;
}

export interface PostfixInstance {
  port: number;
  configDir: string;
  masterPid(): Promise<number | null>;
  log(): Promise<string>;
  /** Delivery outcomes in the log: status=sent/deferred/bounced counts. */
  statuses(): Promise<Record<string, number>>;
  /** warning/error/fatal/panic lines of the log. */
  problems(): Promise<string[]>;
  stop(): Promise<void>;
}

async function ids(name: string): Promise<{ uid: number; gid: number }> {
  const line = (await readFile('/etc/passwd', 'utf8')).split('\n').find((l) => l.startsWith(`${name}:`));
  const f = line?.split(':');
  if (!f || f.length < 4) throw new Error(`no user ${name} (is postfix installed?)`);
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

export async function startPostfix(dir: string, name: string, opts: PostfixOptions): Promise<PostfixInstance> {
  const root = path.join(dir, name);
  const etc = path.join(root, 'etc');
  const queue = path.join(root, 'queue');
  const data = path.join(root, 'data');
  const logFile = path.join(root, 'postfix.log');
  for (const d of [etc, queue, data]) await mkdir(d, { recursive: true });
  const owner = await ids('postfix');
  await chown(data, owner.uid, owner.gid);
  const port = await freePort();
  const vmailbox = path.join(etc, 'vmailbox');
  await writeFile(vmailbox, opts.users.map((u) => `${u} OK`).join('\n') + '\n');
  await writeFile(
    path.join(etc, 'main.cf'),
    `# bench/lib/postfix.ts: a private loopback-only Postfix, defaults otherwise
compatibility_level = 3.6
queue_directory = ${queue}
data_directory = ${data}
mail_owner = postfix
setgid_group = postdrop
maillog_file = ${logFile}
maillog_file_prefixes = ${root}
myhostname = ${opts.hostname ?? `mx-postfix.${opts.domain}`}
mydomain = ${opts.domain}
myorigin = $myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relayhost =
default_transport = error:the bench Postfix delivers nowhere but to its Dovecot
relay_transport = error:the bench Postfix delivers nowhere but to its Dovecot
smtpd_peername_lookup = no
smtpd_banner = $myhostname ESMTP
biff = no
virtual_mailbox_domains = ${opts.domain}
virtual_mailbox_maps = texthash:${vmailbox}
virtual_transport = lmtp:inet:127.0.0.1:${opts.lmtpPort}
${
  opts.tlsChainFile
    ? `smtpd_tls_chain_files = ${opts.tlsChainFile}
smtpd_tls_security_level = may
smtpd_tls_session_cache_database = btree:\${data_directory}/smtpd_scache
`
    : ''
}`,
  );
  // Debian's master.cf minus chroot and the services this setup cannot use.
  await writeFile(
    path.join(etc, 'master.cf'),
    `# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:${port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
${opts.tlsChainFile ? 'tlsmgr    unix  -       -       n       1000?   1       tlsmgr\n' : ''}`,
  );
  const readLog = () => readFile(logFile, 'utf8').catch(() => '');
  // `postfix check` creates the queue subdirectories with Postfix's own owners and modes.
  const check = await run(POSTFIX, ['-c', etc, 'check']);
  if (check.code !== 0) throw new Error(`postfix check failed (${check.code}): ${check.out}${await readLog()}`);
  const start = await run(POSTFIX, ['-c', etc, 'start']);
  if (start.code !== 0) throw new Error(`postfix start failed (${start.code}): ${start.out}${await readLog()}`);

  const masterPid = async (): Promise<number | null> => {
    const text = await readFile(path.join(queue, 'pid', 'master.pid'), 'utf8').catch(() => '');
    const pid = Number(text.trim());
    return Number.isInteger(pid) && pid > 1 ? pid : null;
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const pid = await masterPid();
    const tree = pid ? await processTree(pid) : [];
    await run(POSTFIX, ['-c', etc, 'stop']);
    let left = await waitGone(tree, 10_000);
    if (left.length) {
      await run(POSTFIX, ['-c', etc, 'abort']);
      left = await waitGone(left, 5_000);
      for (const p of left) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {}
      }
      await waitGone(left, 5_000);
    }
  };
  try {
    const pid0 = await masterPid();
    await waitForListener(port, 'postfix', () => pid0 !== null && !alive(pid0), 15_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}:\n${await readLog()}`);
  }
  return {
    port,
    configDir: etc,
    masterPid,
    log: readLog,
    async statuses() {
      const counts: Record<string, number> = {};
      for (const m of (await readLog()).matchAll(/ status=(\w+)/g)) counts[m[1]!] = (counts[m[1]!] ?? 0) + 1;
      return counts;
    },
    async problems() {
      return (await readLog()).split('\n').filter((l) => /: (warning|error|fatal|panic): /.test(l));
    },
    stop,
  };
}
