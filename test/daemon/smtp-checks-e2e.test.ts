/**
 * Port 25's DNS-dependent checks through the real daemon process and the real SystemResolver
 * over UDP (the in-process variant with StaticResolver is test/protocols/mx-checks.test.ts).
 * `[smtp] mynetworks = []` makes 127.0.0.1 a stranger, so every check runs; `[dns] servers`
 * points at a fake DNS on loopback, and nothing else is ever asked. The `.example` names used
 * here do not exist in public DNS, so a delivery or an SPF pass could only come from the fake.
 *
 * The TIMEOUT case waits for the resolver's own timeout: `[dns] timeout = 1` (seconds per try,
 * two tries; c-ares may stretch it a little on a channel that has seen few answers).
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, startTsmail, type RunningTsmail } from '../helpers/daemon.js';
import { startFakeDns, type FakeDns, type FakeZone } from '../helpers/fake-dns.js';
import { RawClient } from '../helpers/raw-smtp.js';
import { tempDir } from '../helpers/tmp.js';

const HOSTNAME = 'mx.example.test';

/** The sender domains of the tests. bl.example lists nobody (1.0.0.127.bl.example: NXDOMAIN). */
const ZONE: FakeZone = {
  'pass.example': { MX: [{ preference: 10, exchange: 'mx.pass.example' }], TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
  'reject.example': { A: ['192.0.2.10'], TXT: ['v=spf1 ip4:192.0.2.1 -all'] },
  '_dmarc.reject.example': { TXT: ['v=DMARC1; p=reject'] },
  'flaky.example': 'SERVFAIL',
  'slow.example': { MX: [{ preference: 10, exchange: 'mx.slow.example' }], TXT: 'TIMEOUT' },
  '_dmarc.slow.example': { TXT: ['v=DMARC1; p=reject'] },
  'nullmx.example': { MX: [{ preference: 0, exchange: '.' }], A: ['192.0.2.20'] },
};
/** The same, with 127.0.0.1 on the blocklist (RFC 5782: reversed address under the zone). */
const LISTING_ZONE: FakeZone = { ...ZONE, '1.0.0.127.bl.example': { A: ['127.0.0.2'] } };

const OTHER_LISTENERS = ['submission', 'submissions', 'lmtp', 'imap', 'imaps', 'pop3', 'pop3s'];

/** A daemon in its own directory: only the smtp listener, checks on, DNS = `dns`. */
async function startDaemon(dir: string, dns: FakeDns): Promise<{ proc: RunningTsmail; port: number }> {
  const [port] = (await freePorts(1)) as [number];
  await mkdir(path.join(dir, 'data'), { recursive: true });
  await writeFile(path.join(dir, 'data/users'), 'bob@example.test:{PLAIN}x:::::\n');
  const config = path.join(dir, 'tsmail.toml');
  await writeFile(config, [
    `hostname = "${HOSTNAME}"`,
    'data_dir = "data"',
    '[listen]',
    `smtp = "127.0.0.1:${port}"`,
    ...OTHER_LISTENERS.map((n) => `${n} = ""`),
    '[directory]',
    'domains = ["example.test"]',
    '[smtp]',
    'mynetworks = []',
    'dnsbl = ["bl.example"]',
    '[dns]',
    `servers = ["${dns.server}"]`,
    'timeout = 1',
    '[daemon]',
    'shutdown_timeout = 1',
    '',
  ].join('\n'));
  const proc = startTsmail(['serve', '--config', config]);
  await proc.waitForLog(/tsmail started/);
  return { proc, port };
}

/** One SMTP transaction; returns every reply from MAIL on. */
async function send(port: number, from: string, subject: string): Promise<string[]> {
  const message = `From: <${from}>\r\nTo: <bob@example.test>\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@x>\r\n\r\nhello\r\n`;
  const c = await RawClient.connect(port);
  try {
    c.send('EHLO mail.sender.example\r\n');
    await c.replies(1);
    c.send(`MAIL FROM:<${from}>\r\n`);
    const out = await c.replies(1);
    if (!out[0]!.startsWith('250')) return out;
    c.send('RCPT TO:<bob@example.test>\r\n');
    out.push(...(await c.replies(1)));
    if (!out[1]!.startsWith('250')) return out;
    c.send('DATA\r\n');
    out.push(...(await c.replies(1)));
    c.send(`${message}.\r\n`);
    out.push(...(await c.replies(1)));
    c.send('QUIT\r\n');
    return out;
  } finally {
    c.socket.destroy();
  }
}

describe('tsmail serve: port 25 DNS checks over a real resolver', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let dns: FakeDns;
  let listingDns: FakeDns;
  let open: { proc: RunningTsmail; port: number };
  let blocking: { proc: RunningTsmail; port: number };

  const received = async (subject: string): Promise<string | undefined> => {
    const newDir = path.join(dir, 'open/data/vmail/example.test/bob/new');
    const files = await readdir(newDir).catch(() => [] as string[]);
    const texts = await Promise.all(files.map((f) => readFile(path.join(newDir, f), 'utf8')));
    return texts.find((t) => t.includes(`Subject: ${subject}\n`));
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    [dns, listingDns] = await Promise.all([startFakeDns(ZONE), startFakeDns(LISTING_ZONE)]);
    [open, blocking] = await Promise.all([startDaemon(path.join(dir, 'open'), dns), startDaemon(path.join(dir, 'blocking'), listingDns)]);
  });
  afterAll(async () => {
    for (const d of [open, blocking]) {
      if (d && d.proc.proc.exitCode === null) {
        d.proc.kill('SIGTERM');
        await d.proc.exited;
      }
    }
    await Promise.all([dns?.close(), listingDns?.close()]);
    await cleanup?.();
  });

  it.concurrent('delivers SPF pass with Authentication-Results from this host', async ({ expect }) => {
    const r = await send(open.port, 'x@pass.example', 'spf-pass');
    expect(r.at(-1)).toMatch(/^250 /);
    const text = (await received('spf-pass'))!;
    expect(text).toMatch(/^Return-Path: <x@pass\.example>\n/);
    expect(text).toMatch(/^Received-SPF: pass /m);
    expect(text).toMatch(new RegExp(`^Authentication-Results: ${HOSTNAME.replace(/\./g, '\\.')};\\n[\\s\\S]*spf=pass `, 'm'));
  });

  it.concurrent('refuses a DMARC p=reject failure (550 5.7.1)', async ({ expect }) => {
    const r = await send(open.port, 'x@reject.example', 'dmarc-reject');
    expect(r.at(-1)).toMatch(/^550 5\.7\.1 Rejected by DMARC policy for reject\.example/);
    expect(await received('dmarc-reject')).toBeUndefined();
  });

  it.concurrent('refuses a sender domain without MX, A or AAAA (550 5.1.8)', async ({ expect }) => {
    const r = await send(open.port, 'x@nowhere.example', 'unknown-domain');
    expect(r[1]).toBe('550 5.1.8 <x@nowhere.example>: Sender address rejected: Domain not found');
  });

  it.concurrent('answers 450 4.1.8 when the sender domain lookup fails (SERVFAIL)', async ({ expect }) => {
    const r = await send(open.port, 'x@flaky.example', 'servfail');
    expect(r[1]).toMatch(/^450 4\.1\.8 <x@flaky\.example>: Sender address rejected: Domain not found \(DNS temporary failure\)$/);
  });

  it.concurrent('answers 451 4.4.3 when the SPF lookup times out under DMARC p=reject', async ({ expect }) => {
    const r = await send(open.port, 'x@slow.example', 'spf-timeout');
    expect(r.at(-1)).toMatch(/^451 4\.4\.3 /);
    expect(await received('spf-timeout')).toBeUndefined();
  });

  it.concurrent('refuses a client listed on the DNS blocklist (554 5.7.1)', async ({ expect }) => {
    const r = await send(blocking.port, 'x@pass.example', 'listed');
    expect(r[1]).toBe('554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using bl.example');
  });

  it.concurrent('refuses a sender domain with a null MX (RFC 7505) as Postfix does (550 5.7.27)', async ({ expect }) => {
    const r = await send(open.port, 'x@nullmx.example', 'null-mx');
    expect(r[1]).toBe('550 5.7.27 <x@nullmx.example>: Sender address rejected: Domain nullmx.example does not accept mail (nullMX)');
  });

  // Runs after the concurrent group above.
  it('asked every question of the fake DNS', () => {
    const asked = new Set(dns.queries);
    for (const q of [
      'MX pass.example', 'TXT pass.example', 'A 1.0.0.127.bl.example',
      'TXT reject.example', 'TXT _dmarc.reject.example',
      'MX nowhere.example', 'A nowhere.example', 'AAAA nowhere.example',
      'MX flaky.example',
      'MX slow.example', 'TXT slow.example', 'TXT _dmarc.slow.example',
    ]) expect(asked, q).toContain(q);
    expect(listingDns.queries).toContain('A 1.0.0.127.bl.example');
  });
});
