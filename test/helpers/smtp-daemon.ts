/**
 * The real tsmail process with its SMTP-family listeners (smtp, submission, submissions, lmtp)
 * on free loopback ports, and a raw SMTP client for talking to it byte by byte, in clear or TLS.
 * IMAP/POP3 are switched off; nothing that would look things up in DNS is on, and DNS points at
 * a closed loopback port so that nothing leaves the machine even if something did.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { freePorts, startTsmail, type RunningTsmail } from './daemon.js';

export const HOST = 'mx.example.test';

export type TomlValue = string | number | boolean | string[];
export type TomlSections = Record<string, Record<string, TomlValue>>;

export interface SmtpPorts {
  smtp: number;
  submission: number;
  submissions: number;
  lmtp: number;
}

export interface SmtpDaemon {
  running: RunningTsmail;
  ports: SmtpPorts;
  dataDir: string;
  /** The texts of the messages in `user@example.test`'s new/. */
  messages(user: string, domain?: string): Promise<string[]>;
  /** Files left in the user's tmp/ (a half-received message would show up here). */
  tmpFiles(user: string, domain?: string): Promise<string[]>;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
}

function tomlValue(v: TomlValue): string {
  if (Array.isArray(v)) return `[${v.map((x) => JSON.stringify(x)).join(', ')}]`;
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function toToml(sections: TomlSections): string {
  const out: string[] = [];
  for (const [name, keys] of Object.entries(sections)) {
    if (name !== '') out.push(`[${name}]`);
    for (const [k, v] of Object.entries(keys)) out.push(`${k} = ${tomlValue(v)}`);
  }
  return out.join('\n') + '\n';
}

/**
 * Starts tsmail in `dir` with passwd-file `users` (Dovecot format) unless the sections choose
 * another backend. `sections` are merged key by key over the defaults below.
 */
export async function startSmtpDaemon(dir: string, users: string, sections: TomlSections = {}): Promise<SmtpDaemon> {
  const [smtp, submission, submissions, lmtp] = (await freePorts(4)) as [number, number, number, number];
  const dataDir = path.join(dir, 'data');
  await mkdir(dataDir, { recursive: true });
  await writeFile(path.join(dataDir, 'users'), users);
  const base: TomlSections = {
    '': { hostname: HOST, data_dir: 'data' },
    listen: {
      smtp: `127.0.0.1:${smtp}`, submission: `127.0.0.1:${submission}`, submissions: `127.0.0.1:${submissions}`, lmtp: `127.0.0.1:${lmtp}`,
      imap: '', imaps: '', pop3: '', pop3s: '',
    },
    directory: { domains: ['example.test'] },
    // 127.0.0.1 plays a client on the internet: no mynetworks, no DNS-based checks.
    smtp: {
      mynetworks: [], reject_unknown_sender_domain: false, verify_sender_auth: false,
      client_message_rate_limit: 0, client_recipient_rate_limit: 0,
    },
    dns: { servers: ['127.0.0.1:9'] },
    daemon: { shutdown_timeout: 2 },
  };
  const merged: TomlSections = { ...base };
  for (const [name, keys] of Object.entries(sections)) merged[name] = { ...base[name], ...keys };
  const config = path.join(dir, 'tsmail.toml');
  await writeFile(config, toToml(merged));
  const running = startTsmail(['serve', '--config', config]);
  try {
    await running.waitForLog(/tsmail started/);
  } catch (err) {
    running.kill('SIGKILL'); // never leave a daemon behind that no test will stop
    throw err;
  }
  const mailbox = (user: string, domain: string, sub: string) => path.join(dataDir, 'vmail', domain, user, sub);
  return {
    running,
    ports: { smtp, submission, submissions, lmtp },
    dataDir,
    async messages(user, domain = 'example.test') {
      const d = mailbox(user, domain, 'new');
      const files = (await readdir(d).catch(() => [] as string[])).sort();
      return Promise.all(files.map((f) => readFile(path.join(d, f), 'latin1')));
    },
    async tmpFiles(user, domain = 'example.test') {
      return readdir(mailbox(user, domain, 'tmp')).catch(() => [] as string[]);
    },
    async stop() {
      if (running.proc.exitCode !== null || running.proc.signalCode !== null) return running.proc.exitCode;
      running.kill('SIGTERM');
      return running.exited;
    },
  };
}

/** Polls `read` until `done` holds or `ms` pass; returns the last value (for the caller's expect). */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A raw client: writes bytes as given (strings are sent as latin1, one byte per char), reads
 * complete replies, and notices when the server hangs up.
 */
export class SmtpClient {
  /** Everything received, as latin1. */
  all = '';
  closed = false;
  readonly gone: Promise<void>;
  private buf = '';
  private wakers: (() => void)[] = [];

  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      const s = d.toString('latin1');
      this.buf += s;
      this.all += s;
      this.wake();
    });
    // A server that hangs up may reset the connection under a pending write.
    socket.on('error', () => {});
    this.gone = new Promise((resolve) => socket.once('close', () => {
      this.closed = true;
      this.wake();
      resolve();
    }));
  }

  static async connect(port: number, localAddress?: string): Promise<SmtpClient> {
    const c = new SmtpClient(net.connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) }));
    await c.next();
    return c;
  }

  /** `localAddress`: another loopback source (127.0.0.2, ...) plays another client. */
  static async connectTls(port: number, localAddress?: string): Promise<SmtpClient> {
    const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...(localAddress ? { localAddress } : {}) });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    const c = new SmtpClient(socket);
    await c.next();
    return c;
  }

  send(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** The next `n` replies, each the full text of all its lines (joined with CRLF). */
  async replies(n: number): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      for (;;) {
        const m = /^((?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?)\r\n/.exec(this.buf);
        if (!m) break;
        out.push(m[1]!);
        this.buf = this.buf.slice(m[0].length);
        if (out.length === n) return out;
      }
      if (this.closed) throw new Error(`connection closed after ${out.length} of ${n} replies; received so far:\n${this.all.slice(-2000)}`);
      await new Promise<void>((resolve) => this.wakers.push(resolve));
    }
  }

  async next(): Promise<string> {
    return (await this.replies(1))[0]!;
  }

  /** Sends one command and returns its reply. */
  async command(line: string | Buffer): Promise<string> {
    this.send(typeof line === 'string' ? `${line}\r\n` : line);
    return this.next();
  }

  /** STARTTLS, then the same session over TLS as a new client. */
  async startTls(): Promise<SmtpClient> {
    const reply = await this.command('STARTTLS');
    if (!reply.startsWith('220')) throw new Error(`STARTTLS refused: ${reply}`);
    const secure = tls.connect({ socket: this.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    return new SmtpClient(secure);
  }

  /** AUTH PLAIN with an initial response; returns the reply. */
  auth(user: string, password: string): Promise<string> {
    return this.command(`AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}`);
  }

  /** Waits until the server closes the connection; false if it is still open after `ms`. */
  async waitClosed(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const result = await Promise.race([this.gone.then(() => true as const), late]);
    clearTimeout(timer);
    return result;
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const w of this.wakers.splice(0)) w();
  }
}
