/**
 * A minimal SMTP/LMTP client for the benchmarks (RFC 5321, RFC 2033 LMTP, RFC 2920 PIPELINING,
 * RFC 3207 STARTTLS): EHLO/LHLO once, then MAIL/RCPT/DATA per message, on a connection kept for
 * many messages or opened for one. TCP to 127.0.0.1 only, no AUTH. With `startTls` it upgrades
 * before the transaction and can offer the TLS session of an earlier connection for resumption,
 * as MTAs with a TLS session cache do (Postfix's tlsmgr, Exim, …). It keeps the time the final
 * `.` was handed to the kernel, so a bench can measure "end of DATA → reply" without the body
 * transfer in it, and the moments each step of the session setup finished (`marks`).
 */
import net from 'node:net';
import tls from 'node:tls';

export interface Reply {
  code: number;
  /** All lines of a multi-line reply, joined with " | ". */
  text: string;
  lines: string[];
}

export interface SendResult {
  /** SMTP: one final reply after the dot; LMTP: one per accepted recipient. Empty if the envelope failed. */
  finals: Reply[];
  /** True when every recipient got a 2xx after the dot. */
  ok: boolean;
  /** performance.now() just before `.\r\n` was written (after the body was written out), or NaN. */
  dotAt: number;
  /** performance.now() when the last final reply arrived (or the envelope failed). */
  doneAt: number;
  /** The first reply that was not what a successful transaction gets. */
  failure?: Reply;
}

export interface ClientOptions {
  lmtp?: boolean;
  /** The EHLO/LHLO name. */
  helo?: string;
  /** Send MAIL, RCPT… and DATA in one write when the server advertises PIPELINING (default true). */
  pipelining?: boolean;
  replyTimeoutMs?: number;
  /** Say EHLO/LHLO after the greeting (default true); false leaves the session at the greeting. */
  hello?: boolean;
  /** Upgrade with STARTTLS after the first EHLO, then EHLO again (RFC 3207 4.2). Certificates are not checked. */
  startTls?: boolean;
  /** A TLS session from an earlier connection's `tlsSession`, offered for resumption. */
  tlsSession?: Buffer;
}

/** performance.now() when each step of the session setup was done; NaN for steps not taken. */
export interface SetupMarks {
  /** Before connect(). */
  start: number;
  /** TCP connection established. */
  connected: number;
  /** 220 greeting read. */
  greeting: number;
  /** EHLO reply read (the first one, on a STARTTLS connection). */
  ehlo: number;
  /** STARTTLS's 220 read. */
  starttls: number;
  /** TLS handshake done (the client's 'secureConnect'). */
  handshake: number;
  /** The EHLO reply inside TLS read. */
  ehloTls: number;
}

export class SmtpClient {
  /** EHLO keywords the server advertised, upper case (e.g. PIPELINING, SIZE). */
  readonly extensions = new Set<string>();
  private buf = '';
  private lines: string[] = [];
  private readonly ready: Reply[] = [];
  private readonly waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private failure: Error | null = null;
  private readonly kind: string;
  private socket: net.Socket;
  private readonly onSocketData = (chunk: Buffer) => this.onData(chunk);
  private readonly onSocketError = (err: Error) => this.fail(err);
  private readonly onSocketClose = () => this.fail(new Error(`${this.kind} connection closed`));
  /** The newest TLS session the server gave (a TLS 1.3 ticket arrives after the handshake). */
  tlsSession: Buffer | null = null;
  /** Whether the TLS handshake resumed the offered session; null without TLS. */
  tlsResumed: boolean | null = null;
  /** Negotiated TLS version and cipher, e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384"; null without TLS. */
  tlsCipher: string | null = null;

  private constructor(
    socket: net.Socket,
    private readonly opts: Required<Omit<ClientOptions, 'tlsSession'>> & { tlsSession?: Buffer },
    readonly marks: SetupMarks,
  ) {
    this.kind = opts.lmtp ? 'LMTP' : 'SMTP';
    this.socket = socket;
    socket.setNoDelay(true);
    this.listen(socket);
  }

  static async connect(port: number, options: ClientOptions = {}): Promise<SmtpClient> {
    const opts = {
      lmtp: options.lmtp ?? false,
      helo: options.helo ?? 'bench.localhost',
      pipelining: options.pipelining ?? true,
      replyTimeoutMs: options.replyTimeoutMs ?? 60_000,
      startTls: options.startTls ?? false,
      hello: options.hello ?? true,
      ...(options.tlsSession ? { tlsSession: options.tlsSession } : {}),
    };
    const marks: SetupMarks = { start: performance.now(), connected: NaN, greeting: NaN, ehlo: NaN, starttls: NaN, handshake: NaN, ehloTls: NaN };
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
    marks.connected = performance.now();
    const c = new SmtpClient(socket, opts, marks);
    try {
      await c.expect(220);
      marks.greeting = performance.now();
      if (!opts.hello) return c;
      await c.hello();
      marks.ehlo = performance.now();
      if (opts.startTls) {
        if (!c.extensions.has('STARTTLS')) throw new Error(`${c.kind}: STARTTLS not offered`);
        c.socket.write('STARTTLS\r\n');
        await c.expect(220);
        marks.starttls = performance.now();
        await c.upgrade();
        marks.handshake = performance.now();
        await c.hello();
        marks.ehloTls = performance.now();
      }
    } catch (err) {
      c.destroy();
      throw err;
    }
    return c;
  }

  private listen(socket: net.Socket): void {
    socket.on('data', this.onSocketData);
    socket.on('error', this.onSocketError);
    socket.on('close', this.onSocketClose);
  }

  private async hello(): Promise<void> {
    this.socket.write(`${this.opts.lmtp ? 'LHLO' : 'EHLO'} ${this.opts.helo}\r\n`);
    const ehlo = await this.expect(250);
    this.extensions.clear();
    for (const line of ehlo.lines.slice(1)) this.extensions.add(line.slice(4).split(' ')[0]!.toUpperCase());
  }

  /** RFC 3207: the TLS handshake on the same connection, after the server's 220. */
  private async upgrade(): Promise<void> {
    if (this.buf || this.ready.length) throw new Error(`${this.kind}: data after the STARTTLS reply`);
    const plain = this.socket;
    plain.off('data', this.onSocketData);
    plain.off('error', this.onSocketError);
    plain.off('close', this.onSocketClose);
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket: plain, rejectUnauthorized: false, ...(this.opts.tlsSession ? { session: this.opts.tlsSession } : {}) }, () => resolve(s));
      s.on('session', (session: Buffer) => (this.tlsSession = session));
      s.once('error', reject);
    });
    this.tlsResumed = secure.isSessionReused();
    const cipher = secure.getCipher();
    this.tlsCipher = `${secure.getProtocol() ?? '?'} ${cipher.standardName ?? cipher.name}`;
    this.socket = secure;
    this.listen(secure);
  }

  get pipelining(): boolean {
    return this.opts.pipelining && this.extensions.has('PIPELINING');
  }

  /**
   * One transaction. MAIL, RCPT… and DATA are pipelined when the server allows it; the body is
   * dot-stuffed and written, and once it is out `.\r\n` follows (dotAt). Rejections come back in
   * the result (the session is RSET and usable again); only connection trouble throws.
   * `stuffed`: the body is already dot-stuffed and ends in CRLF (saves copying large bodies).
   */
  async send(sender: string, rcpts: string[], body: Buffer, { stuffed = false } = {}): Promise<SendResult> {
    const envelope = [`MAIL FROM:<${sender}>\r\n`, ...rcpts.map((r) => `RCPT TO:<${r}>\r\n`), 'DATA\r\n'];
    const replies: Reply[] = [];
    if (this.pipelining) {
      this.socket.write(envelope.join(''));
      for (let i = 0; i < envelope.length; i++) replies.push(await this.next());
    } else {
      for (const cmd of envelope) {
        this.socket.write(cmd);
        const r = await this.next();
        replies.push(r);
        if (r.code >= 400) break; // MAIL or every RCPT refused would make DATA pointless; stop at the first
      }
    }
    const [mail, ...rest] = replies;
    const data = replies.length === envelope.length ? replies[replies.length - 1] : undefined;
    const rcptReplies = rest.slice(0, rcpts.length);
    const accepted = rcptReplies.filter((r) => r.code >= 200 && r.code < 300).length;
    if (!data || data.code !== 354) {
      const failure = [mail, ...rcptReplies, data].find((r) => r && (r.code < 200 || r.code >= 300) && r.code !== 354) ?? data ?? mail;
      await this.reset();
      return { finals: [], ok: false, dotAt: NaN, doneAt: performance.now(), failure };
    }
    await this.write(stuffed ? body : dotStuff(body));
    const dotAt = performance.now();
    this.socket.write('.\r\n');
    const finals: Reply[] = [];
    for (let i = 0; i < (this.opts.lmtp ? accepted : 1); i++) finals.push(await this.next());
    const doneAt = performance.now();
    const bad = [...rcptReplies, ...finals].find((r) => r.code < 200 || r.code >= 300);
    return { finals, ok: !bad && accepted === rcpts.length, dotAt, doneAt, ...(bad ? { failure: bad } : {}) };
  }

  async quit(): Promise<void> {
    if (this.failure) return;
    this.socket.write('QUIT\r\n');
    await this.expect(221).catch(() => {});
    this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private async reset(): Promise<void> {
    this.socket.write('RSET\r\n');
    await this.expect(250);
  }

  private write(data: Buffer | string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  private async expect(code: number): Promise<Reply> {
    const r = await this.next();
    if (r.code !== code) throw new Error(`${this.kind}: expected ${code}, got ${r.text}`);
    return r;
  }

  private next(): Promise<Reply> {
    const r = this.ready.shift();
    if (r) return Promise.resolve(r);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`${this.kind} reply timeout`)), this.opts.replyTimeoutMs);
      this.waiting.push({
        resolve: (x) => (clearTimeout(timer), resolve(x)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
    });
  }

  private onData(chunk: Buffer): void {
    this.buf += chunk.toString('latin1');
    for (let i = this.buf.indexOf('\r\n'); i >= 0; i = this.buf.indexOf('\r\n')) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      this.lines.push(line);
      if (line.length >= 3 && line[3] !== '-') {
        const lines = this.lines;
        this.lines = [];
        const reply = { code: Number(line.slice(0, 3)), text: lines.join(' | '), lines };
        const w = this.waiting.shift();
        if (w) w.resolve(reply);
        else this.ready.push(reply);
      }
    }
  }

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    for (const w of this.waiting.splice(0)) w.reject(err);
    this.socket.destroy();
  }
}

/** RFC 5321 4.5.2 transparency: a leading "." doubled; the body made to end in CRLF. */
export function dotStuff(body: Buffer): Buffer {
  const s = body.toString('latin1').replace(/(^|\r\n)\./g, '$1..');
  return Buffer.from(s.endsWith('\r\n') ? s : s + '\r\n', 'latin1');
}
