/**
 * A lean IMAP client for load generation: tagged commands, responses read as raw bytes with
 * literals skipped over (so a tagged-looking line inside a message is not mistaken for the end),
 * IDLE. Deliberately minimal so that the client's own CPU stays small next to the server's on a
 * shared 2-CPU machine (imapflow would cost more than the servers being measured).
 */
import net from 'node:net';
import tls from 'node:tls';

export interface ImapReply {
  /** The tagged line, without the tag (`OK ...`, `NO ...`, `BAD ...`). */
  status: string;
  /** Bytes of everything before the tagged line. */
  bytes: number;
  /** Untagged response text (literals included) when `keep` was asked for. */
  text?: string;
}

export class ImapClient {
  private buf: Buffer = Buffer.alloc(0);
  private scan = 0;
  private pending: { tag: string; keep: boolean; resolve: (r: ImapReply) => void; reject: (e: Error) => void; start: number } | undefined;
  private waitingContinuation: ((line: string) => void) | undefined;
  private n = 0;
  private closed = false;
  private greetingWaiter: ((line: string) => void) | undefined;
  greeting = '';

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.pending?.reject(new Error('connection closed'));
      this.pending = undefined;
    });
  }

  static async connect(port: number, secure: boolean, host = '127.0.0.1'): Promise<ImapClient> {
    const socket = secure
      ? tls.connect({ port, host, rejectUnauthorized: false })
      : net.connect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once(secure ? 'secureConnect' : 'connect', resolve);
      socket.once('error', reject);
    });
    // APPEND writes its literal and the closing CRLF separately: with Nagle on, the CRLF would
    // wait ~40 ms for the server's delayed ACK, and every server would be measured at that pace.
    socket.setNoDelay(true);
    const c = new ImapClient(socket);
    c.greeting = await new Promise<string>((resolve) => {
      c.greetingWaiter = resolve;
      c.onData(Buffer.alloc(0));
    });
    return c;
  }

  /** Sends `tag command` and resolves with the tagged reply. */
  command(command: string | Buffer, keep = false): Promise<ImapReply> {
    if (this.closed) return Promise.reject(new Error('connection closed'));
    const tag = `a${++this.n}`;
    return new Promise<ImapReply>((resolve, reject) => {
      this.pending = { tag, keep, resolve, reject, start: this.buf.length };
      this.socket.write(typeof command === 'string' ? `${tag} ${command}\r\n` : Buffer.concat([Buffer.from(`${tag} `), command, Buffer.from('\r\n')]));
    });
  }

  /** APPEND with a synchronizing literal: waits for the continuation like a careful client. */
  async append(mailbox: string, message: Buffer, flags = ''): Promise<ImapReply> {
    const tag = `a${++this.n}`;
    const cont = new Promise<string>((resolve) => (this.waitingContinuation = resolve));
    const done = new Promise<ImapReply>((resolve, reject) => {
      this.pending = { tag, keep: false, resolve, reject, start: this.buf.length };
    });
    this.socket.write(`${tag} APPEND ${mailbox}${flags ? ` (${flags})` : ''} {${message.length}}\r\n`);
    const line = await Promise.race([cont, done.then((r) => `tagged ${r.status}`)]);
    if (!line.startsWith('+')) return done;
    this.socket.write(message);
    this.socket.write('\r\n');
    return done;
  }

  /** IDLE until `done()` is called; resolves once the server said `+ idling`. */
  async idle(): Promise<{ done: () => Promise<ImapReply> }> {
    const tag = `a${++this.n}`;
    const cont = new Promise<string>((resolve) => (this.waitingContinuation = resolve));
    const done = new Promise<ImapReply>((resolve, reject) => {
      this.pending = { tag, keep: false, resolve, reject, start: this.buf.length };
    });
    // Closing the connection while idle rejects it: not an unhandled rejection when nobody asked.
    done.catch(() => {});
    this.socket.write(`${tag} IDLE\r\n`);
    await cont;
    return {
      done: () => {
        this.socket.write('DONE\r\n');
        return done;
      },
    };
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      const eol = this.buf.indexOf('\r\n', this.scan);
      if (eol < 0) return;
      // A line ending in {n} announces n literal bytes that follow the CRLF.
      const m = /\{(\d+)\}$/.exec(this.buf.toString('latin1', Math.max(this.scan, eol - 20), eol));
      if (m) {
        const end = eol + 2 + Number(m[1]);
        if (this.buf.length < end) return;
        this.scan = end;
        continue;
      }
      const lineStart = this.lineBegin;
      const line = this.buf.toString('latin1', lineStart, Math.min(eol, lineStart + 200));
      this.scan = eol + 2;
      this.lineBegin = this.scan;
      if (this.greetingWaiter) {
        const w = this.greetingWaiter;
        this.greetingWaiter = undefined;
        this.consume();
        w(line);
        continue;
      }
      if (line.startsWith('+') && this.waitingContinuation) {
        const w = this.waitingContinuation;
        this.waitingContinuation = undefined;
        this.consume();
        w(line);
        continue;
      }
      const p = this.pending;
      if (p && line.startsWith(`${p.tag} `)) {
        const reply: ImapReply = { status: line.slice(p.tag.length + 1), bytes: lineStart };
        if (p.keep) reply.text = this.buf.toString('latin1', 0, lineStart);
        this.pending = undefined;
        this.consume();
        p.resolve(reply);
      }
    }
  }

  /** Where the line being read began (a literal inside it does not end it). */
  private lineBegin = 0;

  private consume(): void {
    this.buf = this.buf.subarray(this.scan);
    this.scan = 0;
    this.lineBegin = 0;
  }
}
