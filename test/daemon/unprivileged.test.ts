import { X509Certificate } from 'node:crypto';
import { chmod, chown, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTsmail, type RunningTsmail } from '../helpers/daemon.js';
import { eventually, SmtpClient, startSmtpDaemon, type SmtpDaemon } from '../helpers/smtp-daemon.js';
import { fixturesDir, tempDir } from '../helpers/tmp.js';

/**
 * tsmail started as root with `daemon.user`, as an operator does outside systemd: it binds its
 * ports, switches to `nobody` and must then still deliver, authenticate and reload its
 * certificate, although everything an earlier run as root left behind (the queue) and the
 * files an operator keeps root-only (a 0600 passwd-file, Let's Encrypt's 0600 privkey.pem)
 * cannot be read by `nobody`. CI runs as root; as another user this cannot be done at all.
 */
const NOBODY = 65534;
const BRUNO = 'bruno@quay.test';
const BRUNO_PASSWORD = 'bollard-bruno'; // {SHA512-CRYPT}: verified in a crypt worker thread

async function brunoLine(): Promise<string> {
  const text = await readFile(path.join(fixturesDir, 'passwd-file/users'), 'utf8');
  return text.split('\n').find((l) => l.startsWith(`${BRUNO}:`))! + '\n';
}

/** A fresh certificate and key, both written by root with mode 0600 (as certbot does for the key). */
async function writeCertificate(dir: string, cn: string): Promise<string> {
  const pems = await generate([{ name: 'commonName', value: cn }], { keyType: 'ec', curve: 'P-256' });
  for (const [name, pem] of [['privkey.pem', pems.private], ['fullchain.pem', pems.cert]] as const) {
    await writeFile(path.join(dir, name), pem, { mode: 0o600 });
    await chmod(path.join(dir, name), 0o600);
  }
  return new X509Certificate(pems.cert).fingerprint256;
}

function peerFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.destroy();
    });
    s.on('error', reject);
  });
}

async function uids(pid: number): Promise<number[]> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status)!.slice(1).map(Number);
}

/** Processes whose parent is `pid`, with their uid and command line. */
async function childrenOf(pid: number): Promise<{ pid: number; uid: number; argv: string[] }[]> {
  const out: { pid: number; uid: number; argv: string[] }[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const status = await readFile(`/proc/${name}/status`, 'utf8').catch(() => '');
    if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== pid) continue;
    const argv = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).split('\0');
    out.push({ pid: Number(name), uid: Number(/^Uid:\s+(\d+)/m.exec(status)![1]), argv });
  }
  return out;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

describe.runIf(process.getuid?.() === 0)('tsmail started as root with daemon.user = nobody', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let daemon: SmtpDaemon | undefined;
  let restarted: RunningTsmail | undefined;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    // mkdtemp makes 0700 directories: `nobody` must be able to reach data_dir inside.
    await chmod(dir, 0o755);
  });
  afterEach(async () => {
    for (const r of [daemon?.running, restarted]) {
      if (r && r.proc.exitCode === null && r.proc.signalCode === null) {
        r.kill('SIGKILL');
        await r.exited;
      }
    }
    daemon = restarted = undefined;
    await cleanup();
  });

  it('delivers, authenticates, reloads a root-only key on SIGHUP, and clears a crashed run\'s staged files', async () => {
    // Operator-managed, root-only files: the passwd-file and the certificate's directory.
    const etc = path.join(dir, 'etc');
    await mkdir(etc, { mode: 0o755 });
    const usersFile = path.join(etc, 'users');
    await writeFile(usersFile, await brunoLine(), { mode: 0o600 });
    const firstCert = await writeCertificate(etc, 'one.quay.test');
    // What an earlier run as root left: the queue's directories owned by root, 0700, and a
    // message it was staging when it crashed.
    const data = path.join(dir, 'data');
    const queueTmp = path.join(data, 'queue/tmp');
    await mkdir(data, { mode: 0o755 });
    await mkdir(queueTmp, { recursive: true, mode: 0o700 });
    await mkdir(path.join(data, 'queue/queued'), { mode: 0o700 });
    await chmod(path.join(data, 'queue'), 0o700);
    await writeFile(path.join(queueTmp, 'stage-root1'), 'half a message');
    await writeFile(path.join(queueTmp, 'mk2abc0123456789ab'), 'an enqueue cut short');
    await writeFile(path.join(queueTmp, 'mk2abc0123456789ab.json'), '{"from":');

    daemon = await startSmtpDaemon(dir, '', {
      daemon: { user: 'nobody', group: 'nogroup' },
      // On, as by default: mailauth is loaded on first use, which here comes after the switch
      // (DNS points at a closed loopback port: every lookup fails at once, nothing leaves).
      smtp: { verify_sender_auth: true },
      directory: { domains: ['quay.test'], passwd_file: usersFile },
      tls: { cert: path.join(etc, 'fullchain.pem'), key: path.join(etc, 'privkey.pem') },
    });
    const { running, ports } = daemon;
    expect(await uids(running.proc.pid!)).toEqual([NOBODY, NOBODY, NOBODY]);
    // The root-only files really are out of the daemon's own reach.
    for (const f of [usersFile, path.join(etc, 'privkey.pem')]) {
      expect((await stat(f)).uid).toBe(0);
      expect((await stat(f)).mode & 0o077).toBe(0);
    }
    expect(await readdir(queueTmp)).toEqual([]);
    expect(running.stdout).toMatch(/removed 3 unacknowledged file/);
    for (const d of ['queue', 'queue/tmp', 'queue/queued']) expect((await stat(path.join(data, d))).uid).toBe(NOBODY);

    // Port 25: mail for a local user lands in a Maildir the daemon created as nobody.
    const mx = await SmtpClient.connect(ports.smtp);
    expect(await mx.command('EHLO client.example.net')).toMatch(/^250/);
    expect(await mx.command('MAIL FROM:<sender@example.net>')).toMatch(/^250/);
    expect(await mx.command(`RCPT TO:<${BRUNO}>`)).toMatch(/^250/);
    expect(await mx.command('DATA')).toMatch(/^354/);
    expect(await mx.command('Subject: as nobody\r\n\r\nhello\r\n.')).toMatch(/^250/);
    mx.close();
    const delivered = await eventually(() => daemon!.messages('bruno', 'quay.test'), (m) => m.length === 1);
    expect(delivered[0]).toContain('Subject: as nobody');
    const newDir = path.join(data, 'vmail/quay.test/bruno/new');
    expect((await stat(path.join(newDir, (await readdir(newDir))[0]!))).uid).toBe(NOBODY);
    expect((await stat(path.join(data, 'vmail'))).uid).toBe(NOBODY);

    // Submission over implicit TLS: the login (0600 passwd-file, crypt worker) and a queued
    // message for a remote recipient.
    expect(await peerFingerprint(ports.submissions)).toBe(firstCert);
    const sub = await SmtpClient.connectTls(ports.submissions);
    expect(await sub.command('EHLO laptop')).toMatch(/^250/);
    expect(await sub.auth(BRUNO, BRUNO_PASSWORD)).toMatch(/^235/);
    expect(await sub.command(`MAIL FROM:<${BRUNO}>`)).toMatch(/^250/);
    expect(await sub.command('RCPT TO:<friend@example.org>')).toMatch(/^250/);
    expect(await sub.command('DATA')).toMatch(/^354/);
    expect(await sub.command(`From: <${BRUNO}>\r\nTo: <friend@example.org>\r\nSubject: out\r\n\r\nhi\r\n.`)).toMatch(/^250 .*queued/i);
    sub.close();
    const queued = await readdir(path.join(data, 'queue/queued'));
    expect(queued.filter((f) => f.endsWith('.json'))).toHaveLength(1);
    for (const f of queued) expect((await stat(path.join(data, 'queue/queued', f))).uid).toBe(NOBODY);

    // certbot's renewal (a new pair, the key 0600 root) and a passwd-file rewritten by root,
    // still 0600, then SIGHUP: the certificate is reloaded through the root reader; the users
    // read before stay (the newcomer cannot log in yet) and the log says why.
    const secondCert = await writeCertificate(etc, 'two.quay.test');
    expect(secondCert).not.toBe(firstCert);
    await writeFile(usersFile, `${await brunoLine()}newcomer@quay.test:{PLAIN}newcomer-pw::::::\n`, { mode: 0o600 });
    running.kill('SIGHUP');
    await running.waitForLog(/reloaded TLS certificates and directory|reload failed/);
    expect(running.stdout).not.toMatch(/reload failed/);
    expect(await peerFingerprint(ports.submissions)).toBe(secondCert);
    const again = await SmtpClient.connectTls(ports.submissions);
    expect(await again.command('EHLO laptop')).toMatch(/^250/);
    expect(await again.auth(BRUNO, BRUNO_PASSWORD)).toMatch(/^235/);
    again.close();
    await running.waitForLog(/cannot read .*etc\/users any more \(EACCES\)/);
    const newcomer = await SmtpClient.connectTls(ports.submissions);
    expect(await newcomer.command('EHLO laptop')).toMatch(/^250/);
    expect(await newcomer.auth('newcomer@quay.test', 'newcomer-pw')).toMatch(/^535/);
    newcomer.close();

    // One certificate reader, root, holding the two configured paths and nothing else; it ends
    // with the daemon. (Under tsx the daemon also has esbuild children, started before the switch.)
    const readers = (await childrenOf(running.proc.pid!)).filter((c) => c.argv.includes('tsmail-cert-reader'));
    expect(readers).toHaveLength(1);
    expect(readers[0]!.uid).toBe(0);
    expect(readers[0]!.argv.slice(readers[0]!.argv.indexOf('tsmail-cert-reader') + 1).filter(Boolean))
      .toEqual([path.join(etc, 'fullchain.pem'), path.join(etc, 'privkey.pem')]);
    // A crash while a message is being staged (the file belongs to nobody by then).
    const staged = path.join(queueTmp, 'stage-crash');
    await writeFile(staged, 'half a message');
    await chown(staged, NOBODY, NOBODY);
    running.kill('SIGKILL');
    await running.exited;
    expect(await eventually(() => exists(`/proc/${readers[0]!.pid}`), (alive) => !alive)).toBe(false);

    restarted = startTsmail(['serve', '--config', path.join(dir, 'tsmail.toml')]);
    await restarted.waitForLog(/tsmail started/);
    expect(await readdir(queueTmp)).toEqual([]);
    expect(restarted.stdout).toMatch(/removed 1 unacknowledged file/);
    expect((await readdir(path.join(data, 'queue/queued'))).sort()).toEqual([...queued].sort());
    expect(await peerFingerprint(ports.submissions)).toBe(secondCert);
    restarted.kill('SIGTERM');
    expect(await restarted.exited).toBe(0);
  });
});
