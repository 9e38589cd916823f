/**
 * The client's commands as framer.ts events, read from the socket on demand: the socket stays
 * paused while the session works through the events of the bytes it has, and is read again only
 * when they are used up and the socket's write buffer is below its limit (`drained`). A client
 * that pipelines (or floods) commands is read only as fast as they are answered, a slow reader
 * cannot make the server buffer responses, and nothing is kept beyond the framer's own bounded
 * state: an idle connection holds no buffer.
 */
import type net from 'node:net';
import { Framer, type FramerEvent, type FramerLimits } from './framer.js';

export class FramedInput {
  private framer: Framer;
  private queue: (FramerEvent | undefined)[] = [];
  private at = 0;
  private socket: net.Socket | undefined;
  private ended = false;
  /** A fatal framer error was handed out: nothing more is read. */
  private finished = false;
  /** Dropping an APPEND's literal that came where a line was expected (IDLE, AUTHENTICATE). */
  private dropping = false;
  private waiter: ((ev: FramerEvent | null) => void) | undefined;

  constructor(
    socket: net.Socket,
    private readonly limits: FramerLimits,
    private readonly drained: () => Promise<void>,
  ) {
    this.framer = new Framer(limits);
    this.attach(socket);
  }

  /**
   * The next event; null when the client went away (or after a fatal error). Waiting costs one
   * promise and its resolver (no chain of async frames): thousands of connections wait in IDLE.
   */
  next(): Promise<FramerEvent | null> {
    const ev = this.take();
    if (ev !== undefined || this.finished || this.ended || !this.socket) return Promise.resolve(ev ?? null);
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.fill();
    });
  }

  /** The next event where a line that is not a command is awaited: an empty line counts. */
  line(): Promise<FramerEvent | null> {
    this.framer.lines = true;
    return this.next();
  }

  /** The session sent `+ OK` for the literal announced by the last `continue`/`append` event. */
  accept(): void {
    this.enqueue(this.framer.accept());
  }

  /** The session answered that command instead: its literal never comes. */
  refuse(): void {
    this.enqueue(this.framer.refuse());
  }

  /** The literal of the `append` event just taken is dropped as it comes (not where an APPEND belongs). */
  dropAppend(): void {
    if (this.framer.awaiting) this.refuse();
    else this.dropping = true;
  }

  /**
   * STARTTLS: everything received so far is dropped (RFC 9051 11.1: no command sent in clear
   * text before the handshake may be run inside TLS) and the socket is no longer read.
   */
  detach(): void {
    const s = this.socket;
    if (s) {
      s.off('data', this.onData);
      s.off('end', this.onEnd);
      s.off('close', this.onEnd);
    }
    this.socket = undefined;
    this.queue = [];
    this.at = 0;
    this.dropping = false;
  }

  /** Reads from `socket` (the TLS socket after STARTTLS) with a fresh framer. */
  attach(socket: net.Socket): void {
    this.detach();
    this.framer = new Framer(this.limits);
    this.ended = false;
    this.socket = socket;
    socket.pause();
    socket.on('data', this.onData);
    // `on`, not `once`: each fires once anyway, and once() would add a wrapper per connection.
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.socket?.pause();
    this.enqueue(this.framer.push(chunk));
    this.settle();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.settle();
  };

  private enqueue(events: FramerEvent[]): void {
    if (events.length === 0) return;
    if (this.queue.length === 0) this.queue = events;
    else for (const e of events) this.queue.push(e);
  }

  /** The next queued event, dropping what dropAppend() asked for; undefined when none is queued. */
  private take(): FramerEvent | undefined {
    while (this.at < this.queue.length) {
      const ev = this.queue[this.at]!;
      // Consumed: no reference kept to the bytes it points into.
      this.queue[this.at++] = undefined;
      if (this.at === this.queue.length) {
        this.queue = [];
        this.at = 0;
      }
      if (this.dropping && (ev.type === 'literal-data' || ev.type === 'append-end')) {
        if (ev.type === 'append-end') this.dropping = false;
        continue;
      }
      if (ev.type === 'error') {
        this.dropping = false;
        if (ev.fatal) this.finished = true;
      }
      this.framer.lines = false;
      return ev;
    }
    return undefined;
  }

  /** Reads the socket once its write buffer is below the limit (the waiter is served on data). */
  private fill(): void {
    void this.drained().then(() => {
      if (this.waiter && !this.ended) this.socket?.resume();
    });
  }

  private settle(): void {
    const w = this.waiter;
    if (!w) return;
    const ev = this.take();
    if (ev === undefined && !this.finished && !this.ended && this.socket) {
      this.fill();
      return;
    }
    this.waiter = undefined;
    w(ev ?? null);
  }
}
