/**
 * Reading a client's bytes on demand: the socket stays paused except while the session waits for
 * more, so a client that pipelines (or floods) commands is read only as fast as they are
 * answered, and nothing piles up in memory beyond one socket read. Many pipelined commands in
 * one packet are taken one after another from the same buffer.
 */
import type net from 'node:net';

const EMPTY = Buffer.alloc(0);

export class SocketInput {
  private buf: Buffer = EMPTY;
  private pos = 0;
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(private readonly socket: net.Socket) {
    socket.pause();
    socket.on('data', (d: Buffer) => {
      this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), d]) : d;
      this.pos = 0;
      socket.pause();
      this.notify();
    });
    const end = () => {
      this.ended = true;
      this.notify();
    };
    socket.once('end', end);
    socket.once('close', end);
  }

  /** Bytes received and not yet taken (STARTTLS drops them: RFC 9051 11.1). */
  discard(): void {
    this.buf = EMPTY;
    this.pos = 0;
  }

  /**
   * The next line including its CRLF (a bare LF ends it too); `null` when the client went away.
   * A line longer than `max` gives `{ tooLong: true }` after skipping to its end.
   */
  async line(max: number): Promise<Buffer | null | { tooLong: true }> {
    let skipping = false;
    for (;;) {
      const i = this.buf.indexOf(0x0a, this.pos);
      if (i >= 0) {
        const line = this.buf.subarray(this.pos, i + 1);
        this.advance(i + 1);
        if (skipping || line.length > max) return { tooLong: true };
        return line;
      }
      if (this.buf.length - this.pos > max) {
        skipping = true;
        this.advance(this.buf.length);
      }
      if (!(await this.more())) return null;
    }
  }

  /** Exactly `n` bytes, or null when the client went away first. */
  async bytes(n: number): Promise<Buffer | null> {
    while (this.buf.length - this.pos < n) if (!(await this.more())) return null;
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.advance(this.pos + n);
    return out;
  }

  /** Up to `n` bytes as they come (APPEND streams a literal in pieces); null when the client went away. */
  async some(n: number): Promise<Buffer | null> {
    if (this.buf.length - this.pos === 0 && !(await this.more())) return null;
    const take = Math.min(n, this.buf.length - this.pos);
    const out = this.buf.subarray(this.pos, this.pos + take);
    this.advance(this.pos + take);
    return out;
  }

  /** Consumed up to `pos`; an idle connection keeps no reference to its last packet. */
  private advance(pos: number): void {
    if (pos >= this.buf.length) {
      this.buf = EMPTY;
      this.pos = 0;
    } else this.pos = pos;
  }

  private async more(): Promise<boolean> {
    if (this.ended) return false;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      this.socket.resume();
    });
    return this.buf.length - this.pos > 0 || !this.ended;
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}
