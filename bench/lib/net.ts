/** Loopback ports for the benchmarks' private servers. */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A port the OS says is free on 127.0.0.1 right now (bound to port 0, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** True if something accepts a TCP connection on 127.0.0.1:port. */
export function accepts(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/**
 * Waits (bounded) until 127.0.0.1:port accepts. `gone()` says the server process has exited,
 * which ends the wait early with an error.
 */
export async function waitForListener(port: number, what: string, gone: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gone()) throw new Error(`${what} exited before listening on 127.0.0.1:${port}`);
    if (await accepts(port)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await sleep(100);
  }
}
