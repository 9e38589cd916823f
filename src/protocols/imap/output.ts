/**
 * The session's Output on a socket: small writes are gathered and sent together, once per turn
 * of the event loop (or sooner when `FLUSH_BYTES` have gathered, or when the caller waits for the
 * buffer to drain), and the socket has Nagle's algorithm off.
 *
 * Why: a reply is many small writes (SELECT's eight lines, FETCH's pieces). With Nagle on, the
 * second small segment waits for the ACK of the first, which the client's delayed ACK holds for
 * ~40 ms: every multi-line reply took 40 ms of wall time. With Nagle off and no gathering, each
 * piece would be its own syscall and packet.
 */
import type net from 'node:net';
import type { Output } from './session.js';

/** Gathered bytes that are written at once rather than at the end of the turn. */
const FLUSH_BYTES = 16 * 1024;

export class SocketOutput implements Output {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private scheduled: NodeJS.Immediate | undefined;

  /**
   * `socket` is asked at every flush: after STARTTLS it is the TLS socket (the server flushes
   * before the handshake, so nothing meant for the clear channel goes over TLS).
   */
  constructor(
    private readonly socket: () => net.Socket,
    private readonly maxWriteBuffer: number,
  ) {}

  /** Nagle off on a socket this output writes to (the TLS socket passes it to the TCP one). */
  static noDelay(socket: net.Socket): void {
    socket.setNoDelay(true);
  }

  write(data: string | Buffer): void {
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    if (b.length === 0) return;
    if (b.length >= FLUSH_BYTES) {
      // A big piece (a message body chunk) goes as it is, after what was gathered before it.
      this.flush();
      this.send(b);
      return;
    }
    this.pending.push(b);
    this.pendingBytes += b.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else this.scheduled ??= setImmediate(() => this.flush());
  }

  /** Sends what was gathered now. */
  flush(): void {
    if (this.scheduled) {
      clearImmediate(this.scheduled);
      this.scheduled = undefined;
    }
    if (this.pendingBytes === 0) return;
    const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.send(data);
  }

  private send(data: Buffer): void {
    const s = this.socket();
    if (!s.destroyed && !s.writableEnded) s.write(data);
  }

  /**
   * Resolves once what is gathered plus the socket's buffer is within the limit. What is gathered
   * is not sent early for this: a FETCH of 50 headers goes out in a few writes, not 50.
   */
  drained(): Promise<void> {
    const s = this.socket();
    if (s.destroyed || this.pendingBytes + s.writableLength <= this.maxWriteBuffer) return Promise.resolve();
    this.flush();
    return waitDrained(s, this.maxWriteBuffer);
  }

  get closed(): boolean {
    return this.socket().destroyed;
  }

  abort(): void {
    this.flush();
    this.socket().destroy();
  }

  /** Sends what was gathered and half-closes the socket. */
  end(): void {
    this.flush();
    this.socket().end();
  }
}

/** Resolves once the socket's write buffer is at most `limit` bytes (or the socket is gone). */
function waitDrained(s: net.Socket, limit: number): Promise<void> {
  if (s.destroyed || s.writableLength <= limit) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    s.on('drain', done);
    s.on('close', done);
  });
}
