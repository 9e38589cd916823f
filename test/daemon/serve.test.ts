import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePorts, readGreeting, startTsmail, type RunningTsmail } from '../helpers/daemon.js';
import { tempDir } from '../helpers/tmp.js';

const NAMES = ['smtp', 'submission', 'submissions', 'lmtp', 'imap', 'imaps', 'pop3', 'pop3s'] as const;

async function writeConfig(dir: string, ports: number[], extra = ''): Promise<string> {
  const listen = NAMES.map((n, i) => `${n} = "127.0.0.1:${ports[i]}"`).join('\n');
  const file = path.join(dir, 'tsmail.toml');
  await writeFile(file, `hostname = "mx.example.test"\ndata_dir = "data"\n[listen]\n${listen}\n[daemon]\nshutdown_timeout = 5\n${extra}`);
  return file;
}

function connectTls(port: number): Promise<{ greeting: string; fingerprint: string; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const fingerprint = s.getPeerCertificate().fingerprint256;
      const protocol = s.getProtocol();
      readGreeting(s).then((greeting) => {
        s.destroy();
        resolve({ greeting, fingerprint, protocol });
      }, reject);
    });
    s.on('error', reject);
  });
}

describe('tsmail serve', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let running: RunningTsmail | undefined;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterEach(async () => {
    if (running && running.proc.exitCode === null) {
      running.kill('SIGKILL');
      await running.exited;
    }
    running = undefined;
    await cleanup();
  });

  it('starts every listener, logs them and the data dir, answers, and stops cleanly on SIGTERM', async () => {
    const ports = await freePorts(8);
    const config = await writeConfig(dir, ports);
    running = startTsmail(['serve', '--config', config]);
    await running.waitForLog(/tsmail started/);
    const logs = running.logs();
    const listening = logs.filter((l) => /^listening for/.test(String(l.msg)));
    expect(listening.map((l) => l.listener)).toEqual([...NAMES]);
    expect(listening.map((l) => l.address)).toEqual(ports.map((p) => `127.0.0.1:${p}`));
    const started = logs.find((l) => l.msg === 'tsmail started')!;
    expect(started.data_dir).toBe(path.join(dir, 'data'));

    for (const [i, name] of NAMES.entries()) {
      const implicit = name === 'submissions' || name === 'imaps' || name === 'pop3s';
      const greeting = implicit
        ? (await connectTls(ports[i]!)).greeting
        : await readGreeting(net.connect(ports[i]!, '127.0.0.1'));
      const expected = name === 'lmtp' ? /^220 mx\.example\.test / // SMTP, LMTP and IMAP are served; POP3 is a placeholder
        : name === 'smtp' ? /^220 mx\.example\.test ESMTP tsmail$/
        : name.startsWith('submission') ? /^220 mx\.example\.test ESMTP tsmail submission$/
        : name.startsWith('imap') ? /^\* OK \[CAPABILITY IMAP4rev1 .*\] mx\.example\.test tsmail ready\.$/ : name.startsWith('pop3') ? /^-ERR \[SYS\/TEMP\]/ : /^421 4\.3\.2 mx\.example\.test /;
      expect(greeting, name).toMatch(expected);
    }
    const tlsInfo = await connectTls(ports[5]!);
    expect(['TLSv1.2', 'TLSv1.3']).toContain(tlsInfo.protocol);

    running.kill('SIGTERM');
    expect(await running.exited).toBe(0);
    expect(running.stdout).toMatch(/tsmail stopped/);
  });

  it('delivers end to end: SMTP (STARTTLS) and LMTP into the Maildir, with the real process', async () => {
    const ports = await freePorts(8);
    const config = await writeConfig(dir, ports, '[directory]\ndomains = ["example.test"]\n');
    await mkdir(path.join(dir, 'data'), { recursive: true });
    await writeFile(path.join(dir, 'data/users'), 'alice@example.test:{PLAIN}x:::::\n');
    running = startTsmail(['serve', '--config', config]);
    await running.waitForLog(/tsmail started/);
    const nodemailer = (await import('nodemailer')).default;
    const smtp = nodemailer.createTransport({ host: '127.0.0.1', port: ports[0], secure: false, requireTLS: true, name: 'mail.remote.example', tls: { rejectUnauthorized: false } });
    await smtp.sendMail({ envelope: { from: 'a@remote.example', to: ['alice@example.test'] }, raw: 'Subject: via smtp\r\n\r\nhi\r\n' });
    const lmtp = nodemailer.createTransport({ host: '127.0.0.1', port: ports[3], lmtp: true, name: 'postfix.local' } as never);
    await lmtp.sendMail({ envelope: { from: 'b@remote.example', to: ['alice@example.test'] }, raw: 'Subject: via lmtp\r\n\r\nhi\r\n' });
    const newDir = path.join(dir, 'data/vmail/example.test/alice/new');
    const texts = await Promise.all((await (await import('node:fs/promises')).readdir(newDir)).map((f) => readFile(path.join(newDir, f), 'utf8')));
    expect(texts.some((t) => t.includes('Subject: via smtp') && t.includes('with ESMTPS'))).toBe(true);
    expect(texts.some((t) => t.includes('Subject: via lmtp'))).toBe(true);
    running.kill('SIGTERM');
    expect(await running.exited).toBe(0);
  });

  it('keeps its self-signed certificate across restarts', async () => {
    const ports = await freePorts(8);
    const config = await writeConfig(dir, ports);
    running = startTsmail(['serve', '--config', config]);
    await running.waitForLog(/tsmail started/);
    const first = await connectTls(ports[2]!);
    running.kill('SIGTERM');
    await running.exited;
    expect((await stat(path.join(dir, 'data/tls/selfsigned.key'))).mode & 0o077).toBe(0);

    running = startTsmail(['serve', '--config', config]);
    await running.waitForLog(/tsmail started/);
    expect((await connectTls(ports[2]!)).fingerprint).toBe(first.fingerprint);
  });

  it('reloads the TLS certificate on SIGHUP', async () => {
    const ports = await freePorts(8);
    const tlsDir = path.join(dir, 'certs');
    await mkdir(tlsDir);
    const write = async (cn: string) => {
      const pems = await generate([{ name: 'commonName', value: cn }], { keyType: 'ec', curve: 'P-256' });
      await writeFile(path.join(tlsDir, 'key.pem'), pems.private);
      await writeFile(path.join(tlsDir, 'cert.pem'), pems.cert);
    };
    await write('one.example.test');
    const config = await writeConfig(dir, ports, `[tls]\ncert = "${tlsDir}/cert.pem"\nkey = "${tlsDir}/key.pem"\n`);
    running = startTsmail(['serve', '--config', config]);
    await running.waitForLog(/tsmail started/);
    const before = await connectTls(ports[5]!);
    await write('two.example.test');
    running.kill('SIGHUP');
    await running.waitForLog(/reloaded TLS certificates and directory/);
    const after = await connectTls(ports[5]!);
    expect(after.fingerprint).not.toBe(before.fingerprint);
    expect(running.proc.exitCode).toBeNull();
  });

  it('keeps the old certificate when a SIGHUP reload fails', async () => {
    const ports = await freePorts(8);
    const certFile = path.join(dir, 'cert.pem');
    const keyFile = path.join(dir, 'key.pem');
    const pems = await generate([{ name: 'commonName', value: 'x.test' }], { keyType: 'ec', curve: 'P-256' });
    await writeFile(certFile, pems.cert);
    await writeFile(keyFile, pems.private);
    const config = await writeConfig(dir, ports, `[tls]\ncert = "${certFile}"\nkey = "${keyFile}"\n`);
    running = startTsmail(['serve', '--config', config]);
    await running.waitForLog(/tsmail started/);
    const before = await connectTls(ports[2]!);
    await writeFile(certFile, 'garbage');
    running.kill('SIGHUP');
    await running.waitForLog(/reload failed/);
    expect((await connectTls(ports[2]!)).fingerprint).toBe(before.fingerprint);
  });

  it('refuses to start when a port is taken, naming listener and address', async () => {
    const ports = await freePorts(8);
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(ports[4], '127.0.0.1', r));
    try {
      const config = await writeConfig(dir, ports);
      running = startTsmail(['serve', '--config', config]);
      expect(await running.exited).toBe(1);
      expect(running.stderr).toContain(`cannot listen on 127.0.0.1:${ports[4]} for imap: address already in use`);
      // nothing stays bound: the ports that did bind are released again
      const probe = net.createServer();
      await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(ports[0], '127.0.0.1', resolve));
      await new Promise((r) => probe.close(r));
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('refuses to start when data_dir is not writable', async () => {
    const ports = await freePorts(8);
    await writeFile(path.join(dir, 'afile'), 'x');
    const config = await writeConfig(dir, ports);
    await writeFile(config, (await readFile(config, 'utf8')).replace('data_dir = "data"', 'data_dir = "afile/data"'));
    running = startTsmail(['serve', '--config', config]);
    expect(await running.exited).toBe(1);
    expect(running.stderr).toMatch(/data_dir: directory .*afile\/data is not writable \(ENOTDIR\)/);
  });

  it('refuses to start when the mail location root is not writable', async () => {
    const ports = await freePorts(8);
    await writeFile(path.join(dir, 'afile'), 'x');
    const config = await writeConfig(dir, ports, `[mail]\nlocation = "maildir:${dir}/afile/vhosts/%d/%n"\n`);
    running = startTsmail(['serve', '--config', config]);
    expect(await running.exited).toBe(1);
    expect(running.stderr).toMatch(/mail\.location: directory .*afile\/vhosts is not writable \(ENOTDIR\)/);
  });

  it('refuses to start with an invalid config, naming the key', async () => {
    const config = path.join(dir, 'bad.toml');
    await writeFile(config, '[listen]\nsmtp = 25\n');
    running = startTsmail(['serve', '--config', config]);
    expect(await running.exited).toBe(1);
    expect(running.stderr).toMatch(/listen\.smtp: /);
  });

  it('listens on a unix socket (LMTP), replacing a stale socket but never a live one', async () => {
    const ports = await freePorts(8);
    const sock = path.join(dir, 'lmtp.sock');
    const config = await writeConfig(dir, ports);
    await writeFile(config, (await readFile(config, 'utf8')).replace(/lmtp = "[^"]+"/, `lmtp = "unix:${sock}"`));
    // a stale socket file left by a crashed process
    const stale = net.createServer();
    await new Promise<void>((r) => stale.listen(sock, r));
    await new Promise<void>((r) => {
      (stale as unknown as { _handle: { close(): void } | null })._handle?.close();
      r();
    });
    running = startTsmail(['serve', '--config', config]);
    await running.waitForLog(/tsmail started/);
    expect(await readGreeting(net.connect(sock))).toMatch(/^220 /);

    const second = startTsmail(['serve', '--config', config]);
    expect(await second.exited).toBe(1);
    expect(second.stderr).toMatch(/another process is listening there|address already in use/);
  });

  it.runIf(process.getuid?.() === 0)('drops root privileges to daemon.user after binding', async () => {
    const ports = await freePorts(8);
    const config = await writeConfig(dir, ports, 'user = "nobody"\ngroup = "nogroup"\n');
    // mkdtemp's directory is 0700: nobody cannot reach data_dir in it, and tsmail says so at
    // start (checked as nobody after the switch) instead of answering every RCPT with 451.
    running = startTsmail(['serve', '--config', config]);
    expect(await running.exited).toBe(1);
    expect(running.stderr).toMatch(/data_dir: directory .*\/data\/queue\/tmp is not writable \(EACCES\) by uid 65534/);
    await chmod(dir, 0o755);
    running = startTsmail(['serve', '--config', config]);
    await running.waitForLog(/tsmail started/);
    const status = await readFile(`/proc/${running.proc.pid}/status`, 'utf8');
    const uids = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status)!;
    expect(uids.slice(1).map(Number)).toEqual([65534, 65534, 65534]);
    running.kill('SIGTERM');
    expect(await running.exited).toBe(0);
  });
});
