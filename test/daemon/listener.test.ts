import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { Listener } from '../../src/daemon/listener.js';
import { eventually } from '../helpers/smtp-daemon.js';
import { tempDir } from '../helpers/tmp.js';

/** A session that lasts until the client says "bye". */
function echoUntilBye(socket: net.Socket): void {
  socket.write('hello\r\n');
  socket.on('data', (d: Buffer) => {
    if (d.toString().includes('bye')) socket.end('ok bye\r\n');
  });
}

async function connect(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => s.once('data', () => resolve()).once('error', reject));
  return s;
}

describe('Listener shutdown', () => {
  it('stops accepting at once but lets running sessions finish', async () => {
    const l = new Listener({ name: 'test', address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, handler: echoUntilBye }, silentLogger);
    await l.start();
    const port = l.port!;
    const client = await connect(port);
    let stopped = false;
    const stopping = l.stop(10_000).then(() => (stopped = true));

    // new connections are refused while the old session goes on
    await expect(new Promise((resolve, reject) => net.connect(port, '127.0.0.1').once('connect', resolve).once('error', reject)))
      .rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await new Promise((r) => setTimeout(r, 100));
    expect(stopped).toBe(false);
    expect(l.connections).toBe(1);

    const closed = new Promise((r) => client.once('close', r));
    client.write('bye\r\n');
    await closed;
    await stopping;
    expect(stopped).toBe(true);
  });

  it('cuts sessions that outlive the grace period', async () => {
    const l = new Listener({ name: 'test', address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, handler: echoUntilBye }, silentLogger);
    await l.start();
    const client = await connect(l.port!);
    const closed = new Promise((r) => client.once('close', r));
    await l.stop(200);
    await closed;
    expect(l.connections).toBe(0);
  });

  it('survives a handler that throws', async () => {
    const l = new Listener({
      name: 'test', address: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      handler: () => { throw new Error('boom'); },
    }, silentLogger);
    await l.start();
    const s = net.connect(l.port!, '127.0.0.1');
    await new Promise((r) => s.once('close', r));
    expect(l.connections).toBe(0);
    await l.stop(0);
  });
});

describe('Listener limits', () => {
  it('on a unix socket: the listener limit holds (no client IP to count), the turned-away client gets the line, a freed slot is reused', async () => {
    const { dir, cleanup } = await tempDir();
    const l = new Listener({
      name: 'test', address: { kind: 'unix', path: path.join(dir, 'l.sock') }, handler: echoUntilBye,
      limits: { maxConnections: 1, perClient: 1 },
      turnaway: (why) => `no: ${why.kind}\r\n`,
    }, silentLogger);
    await l.start();
    const read = (s: net.Socket) => new Promise<string>((resolve) => {
      let all = '';
      s.on('data', (d: Buffer) => (all += d.toString()));
      s.once('data', () => setImmediate(() => resolve(all)));
      s.once('close', () => resolve(all));
    });
    const first = net.connect(path.join(dir, 'l.sock'));
    expect(await read(first)).toBe('hello\r\n');
    const second = net.connect(path.join(dir, 'l.sock'));
    const closed = once(second, 'close');
    expect(await read(second)).toBe('no: listener-full\r\n');
    await closed;
    expect(l.admittedConnections).toBe(1);
    first.write('bye\r\n');
    await once(first, 'close');
    await eventually(async () => l.admittedConnections, (n) => n === 0);
    const third = net.connect(path.join(dir, 'l.sock'));
    expect(await read(third)).toBe('hello\r\n');
    third.destroy();
    await l.stop(0);
    await cleanup();
  });
});

describe('staticRoot', () => {
  it('finds the directory that holds every Maildir', async () => {
    const { staticRoot } = await import('../../src/daemon/daemon.js');
    expect(staticRoot('maildir:/var/mail/vhosts/%d/%n')).toBe('/var/mail/vhosts');
    expect(staticRoot('maildir:/srv/mail/%u:LAYOUT=fs')).toBe('/srv/mail');
    expect(staticRoot('maildir:~/Maildir')).toBeNull();
    expect(staticRoot('maildir:%h/Maildir')).toBeNull();
    expect(staticRoot('maildir:/%d/%n')).toBeNull();
  });
});
