import net from 'node:net';

/** A raw SMTP/LMTP client: sends lines, collects complete replies (multi-line aware). */
export class RawClient {
  private buf = '';
  /** Everything received so far. */
  all = '';
  private waiters: (() => void)[] = [];
  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf += d.toString('latin1');
      this.all += d.toString('latin1');
      for (const w of this.waiters.splice(0)) w();
    });
  }
  static async connect(port: number): Promise<RawClient> {
    const c = new RawClient(net.connect(port, '127.0.0.1'));
    await c.replies(1);
    return c;
  }
  send(text: string): void {
    this.socket.write(text);
  }
  /** Waits for `n` complete replies and returns their last lines ("250 ..."). */
  async replies(n: number): Promise<string[]> {
    for (;;) {
      const lines = this.buf.split('\r\n');
      const finals = lines.slice(0, -1).filter((l) => /^\d{3} /.test(l));
      if (finals.length >= n) {
        let count = 0;
        let cut = 0;
        for (const l of lines) {
          cut += l.length + 2;
          if (/^\d{3} /.test(l) && ++count === n) break;
        }
        this.buf = this.buf.slice(cut);
        return finals.slice(0, n);
      }
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 2000);
      });
    }
  }
}
