/**
 * A raw IMAP client for exact response text: sends bytes as given, reads lines, and collects a
 * command's responses up to its tagged reply.
 */
import net from 'node:net';
import tls from 'node:tls';

export class RawImap {
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
    socket.on('error', () => {});
    this.gone = new Promise((resolve) => socket.once('close', () => {
      this.closed = true;
      this.wake();
      resolve();
    }));
  }

  static async connect(port: number, secure = false): Promise<{ client: RawImap; greeting: string }> {
    const socket = secure ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }) : net.connect({ port, host: '127.0.0.1' });
    const client = new RawImap(socket);
    const greeting = await client.line();
    return { client, greeting };
  }

  send(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** The next line without CRLF; throws if the connection closes first. */
  async line(): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        const l = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        return l;
      }
      if (this.closed) throw new Error(`connection closed; received:\n${this.all.slice(-2000)}`);
      await new Promise<void>((r) => this.wakers.push(r));
    }
  }

  /** Lines up to and including the one starting with `tag `. */
  async until(tag: string): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const l = await this.line();
      out.push(l);
      if (l.startsWith(`${tag} `)) return out;
    }
  }

  /** Sends `tag text` and returns every line up to the tagged reply. */
  async command(tag: string, text: string): Promise<string[]> {
    this.send(`${tag} ${text}\r\n`);
    return this.until(tag);
  }

  /** STARTTLS, then the same session over TLS. */
  async startTls(tag = 'S1'): Promise<RawImap> {
    const r = await this.command(tag, 'STARTTLS');
    if (!r[r.length - 1]!.startsWith(`${tag} OK`)) throw new Error(`STARTTLS refused: ${r.join('\n')}`);
    const secure = tls.connect({ socket: this.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    return new RawImap(secure);
  }

  async waitClosed(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const r = await Promise.race([this.gone.then(() => true as const), late]);
    clearTimeout(timer);
    return r;
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const w of this.wakers.splice(0)) w();
  }
}
