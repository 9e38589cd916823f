/**
 * Port 25's content and reputation checks against a fake DNS (StaticResolver): SPF, DKIM, DMARC
 * (mailauth) with Authentication-Results, DMARC reject and its temporary variant, DNS
 * blocklists, rejected sender TLDs, and sender/recipient bcc maps.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { dkimSign } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkList } from '../../src/core/cidr.js';
import { silentLogger } from '../../src/core/logger.js';
import { StaticResolver } from '../../src/core/resolver.js';
import { Listener } from '../../src/daemon/listener.js';
import { TLS_CIPHERS, TlsCertificates } from '../../src/daemon/tls.js';
import type { PasswordHasher } from '../../src/directory/schemes/index.js';
import { BccMaps } from '../../src/delivery/bcc.js';
import { Router } from '../../src/delivery/routing.js';
import { Dnsbl, reverseName } from '../../src/security/dnsbl.js';
import { MessageAuthenticator } from '../../src/security/mail-auth.js';
import { DnsSenderDomainCheck } from '../../src/security/sender-domain.js';
import { MxService, type MxPolicy } from '../../src/protocols/smtp/mx.js';
import { Spool } from '../../src/queue/spool.js';
import { RateWindow } from '../../src/security/rate-window.js';
import { mailFixture } from '../helpers/mail-fixture.js';
import { RawClient } from '../helpers/raw-smtp.js';
import { tempDir } from '../helpers/tmp.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const DKIM_KEY = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const DKIM_PUBLIC = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

/** The fake DNS: every domain the tests send from, and two blocklists. */
const dns = new StaticResolver({
  'pass.example': { A: ['192.0.2.10'], TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
  'soft.example': { A: ['192.0.2.10'], TXT: ['v=spf1 ip4:192.0.2.1 ~all'] },
  'fail.example': { A: ['192.0.2.10'], TXT: ['v=spf1 ip4:192.0.2.1 -all'] },
  'reject.example': { A: ['192.0.2.10'], TXT: ['v=spf1 ip4:192.0.2.1 -all'] },
  '_dmarc.reject.example': { TXT: ['v=DMARC1; p=reject'] },
  'quarantine.example': { A: ['192.0.2.10'], TXT: ['v=spf1 ip4:192.0.2.1 -all'] },
  '_dmarc.quarantine.example': { TXT: ['v=DMARC1; p=quarantine'] },
  'signed.example': { A: ['192.0.2.10'], TXT: ['v=spf1 ip4:192.0.2.1 -all'] },
  '_dmarc.signed.example': { TXT: ['v=DMARC1; p=reject'] },
  'sel._domainkey.signed.example': { TXT: [`v=DKIM1; k=rsa; p=${DKIM_PUBLIC}`] },
  'flaky.example': { A: ['192.0.2.10'], TXT: 'SERVFAIL' },
  'sel._domainkey.broken.example': { TXT: 'SERVFAIL' },
  '_dmarc.flaky.example': { TXT: ['v=DMARC1; p=reject'] },
  'spam.xyz': { A: ['192.0.2.66'] },
  '1.0.0.127.bl.example': { A: ['127.0.0.2'] },
  '1.0.0.127.picky.example': { A: ['127.0.0.2'] },
  '1.0.0.127.down.example': { A: 'SERVFAIL' },
});

describe('port 25 checks: SPF/DKIM/DMARC, DNSBL, TLDs, bcc maps', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let hasher: PasswordHasher;
  const listeners: Listener[] = [];
  /** Ports: the internet (checks on), a DNSBL listing 127.0.0.1, mynetworks (checks off), SPF fail refused. */
  let outside: number;
  let blocked: number;
  let trusted: number;
  let spfStrict: number;
  const maildir = (u: string) => path.join(dir, 'vmail/example.test', u);
  const messages = async (u: string) => {
    const files = await readdir(path.join(maildir(u), 'new')).catch(() => [] as string[]);
    return Promise.all(files.map((f) => readFile(path.join(maildir(u), 'new', f), 'utf8')));
  };
  const received = async (u: string, subject: string) => (await messages(u)).find((t) => t.includes(`Subject: ${subject}\n`));

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    let delivery, directory;
    ({ delivery, directory, hasher } = await mailFixture(dir, ['alice', 'bob', 'archive'].map((u) => `${u}@example.test:{PLAIN}x:::::\n`).join(''), ''));
    const spool = new Spool(path.join(dir, 'queue'));
    await spool.init();
    const certs = new TlsCertificates({ cert: '', key: '', dataDir: dir, hostname: 'mx.example.test' }, silentLogger);
    const policy = (mynetworks: string[]): MxPolicy => ({
      mynetworks: new NetworkList(mynetworks), recipientLimit: 10, heloRequired: true, rejectInvalidHelo: true,
      rejectNonFqdnHelo: true, rejectNonFqdnSender: true, rejectNonFqdnRecipient: true, rejectUnknownSenderDomain: true,
      rejectSenderTlds: ['xyz', 'co.evil'], messageRateLimit: 0, recipientRateLimit: 0,
    });
    const bcc = new BccMaps({ 'boss@pass.example': 'archive@example.test', '@soft.example': 'audit@elsewhere.example' }, { 'alice@example.test': 'archive@example.test' }, '+');
    const setups = [
      { nets: [], zones: ['down.example', 'picky.example=127.0.0.9'], spfReject: false },
      { nets: [], zones: ['down.example', 'bl.example'], spfReject: false },
      { nets: ['127.0.0.0/8', '[::ffff:127.0.0.0]/104', '[::1]/128'], zones: ['bl.example'], spfReject: false },
      { nets: [], zones: [], spfReject: true },
    ];
    for (const s of setups) {
      const mx = new MxService({
        hostname: 'mx.example.test', maxMessageSize: 1 << 20, policy: policy(s.nets), log: silentLogger,
        router: new Router(delivery, spool, bcc, silentLogger), senderDomains: new DnsSenderDomainCheck(dns, directory),
        messageRate: new RateWindow(60_000), recipientRate: new RateWindow(60_000),
        dnsbl: new Dnsbl(s.zones, dns, silentLogger),
        authenticator: new MessageAuthenticator(dns, 'mx.example.test', { dmarcReject: true, spfReject: s.spfReject }, silentLogger),
        tls: { options: () => ({ minVersion: 'TLSv1.2', ciphers: TLS_CIPHERS }), attach: (x) => certs.attach(x) },
      });
      const l = new Listener({ name: 'smtp', address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, handler: (x, adopt) => mx.handle(x, adopt) }, silentLogger);
      await l.start();
      listeners.push(l);
    }
    await certs.reload();
    [outside, blocked, trusted, spfStrict] = listeners.map((l) => l.port!) as [number, number, number, number];
  });
  afterAll(async () => {
    for (const l of listeners) await l.stop(0);
    await hasher.close();
    await cleanup();
  });

  /** One SMTP transaction; returns every reply from MAIL on. */
  async function send(port: number, from: string, to: string[], message: string): Promise<string[]> {
    const c = await RawClient.connect(port);
    c.send('EHLO mail.sender.example\r\n');
    await c.replies(1);
    c.send(`MAIL FROM:<${from}>\r\n`);
    const out = await c.replies(1);
    if (out[0]!.startsWith('250')) {
      for (const r of to) {
        c.send(`RCPT TO:<${r}>\r\n`);
        out.push(...(await c.replies(1)));
      }
      if (out.slice(1).some((l) => l.startsWith('250'))) {
        c.send('DATA\r\n');
        out.push(...(await c.replies(1)));
        c.send(message.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..') + '\r\n.\r\n');
        out.push(...(await c.replies(1)));
      }
    }
    c.socket.destroy();
    return out;
  }
  const plain = (from: string, subject: string) => `From: <${from}>\nTo: <alice@example.test>\nSubject: ${subject}\nMessage-ID: <${subject}@x>\n\nhello\n`;

  it('records SPF pass, softfail and fail in Authentication-Results and delivers them', async () => {
    for (const [domain, result] of [['pass', 'pass'], ['soft', 'softfail'], ['fail', 'fail']] as const) {
      const r = await send(outside, `x@${domain}.example`, ['bob@example.test'], plain(`x@${domain}.example`, `spf-${domain}`));
      expect(r.at(-1), domain).toMatch(/^250 /);
      const text = (await received('bob', `spf-${domain}`))!;
      expect(text).toMatch(new RegExp(`^Return-Path: <x@${domain}\\.example>\\nDelivered-To: bob@example\\.test\\nReceived-SPF: ${result} `));
      expect(text).toMatch(new RegExp(`Authentication-Results: mx\\.example\\.test;\\n[\\s\\S]*spf=${result} `));
      // the trace order: our Authentication-Results above our Received line, then the message
      expect(text.indexOf('Authentication-Results:')).toBeLessThan(text.indexOf('Received: from mail.sender.example'));
    }
  });

  it('removes Authentication-Results that claim our name (RFC 8601 5), keeps others and the body', async () => {
    const forged = 'Authentication-Results: MX.example.test;\n dkim=pass header.d=bank.example;\n dmarc=pass\n'
      + 'Authentication-Results: relay.other.example; spf=pass smtp.mailfrom=x@pass.example\n'
      + plain('x@pass.example', 'forged-ar').replace('hello', 'Authentication-Results: mx.example.test; in the body stays');
    expect((await send(outside, 'x@pass.example', ['bob@example.test'], forged)).at(-1)).toMatch(/^250 /);
    const text = (await received('bob', 'forged-ar'))!;
    const headers = text.slice(0, text.indexOf('\n\n'));
    expect(headers.match(/^Authentication-Results: mx\.example\.test;/gim)).toHaveLength(1); // ours only
    expect(text).not.toContain('header.d=bank.example');
    expect(text).toContain('Authentication-Results: relay.other.example; spf=pass');
    expect(text).toContain('Message-ID: <forged-ar@x>\n\nAuthentication-Results: mx.example.test; in the body stays\n');
  });

  it('refuses SPF fail only when spf_reject is on (550 5.7.23)', async () => {
    const r = await send(spfStrict, 'x@fail.example', ['bob@example.test'], plain('x@fail.example', 'spf-strict'));
    expect(r.at(-1)).toMatch(/^550 5\.7\.23 /);
    expect(await received('bob', 'spf-strict')).toBeUndefined();
  });

  it('verifies DKIM: a good signature passes DMARC p=reject, a tampered one is refused (550 5.7.1)', async () => {
    const message = plain('news@signed.example', 'dkim-good').replace(/\n/g, '\r\n');
    const { signatures } = await dkimSign(message, {
      // mailauth 4.x signs only with signatureData; its typings describe top-level keys, which sign nothing
      signatureData: [{ signingDomain: 'signed.example', selector: 'sel', privateKey: DKIM_KEY }],
    } as unknown as Parameters<typeof dkimSign>[1]);
    const good = await send(outside, 'news@signed.example', ['bob@example.test'], signatures + message);
    expect(good.at(-1)).toMatch(/^250 /);
    const text = (await received('bob', 'dkim-good'))!;
    expect(text).toMatch(/dkim=pass header\.i=@signed\.example header\.s=sel /);
    expect(text).toContain('Message-ID: <dkim-good@x>\n\nhello\n'); // body untouched
    expect(text).toMatch(/dmarc=pass/);

    // A DMARC pass stands even when another signature's key could not be fetched (temperror).
    const message2 = plain('news@signed.example', 'dkim-twice').replace(/\n/g, '\r\n');
    const sign = async (domain: string, text: string) => (await dkimSign(text, {
      signatureData: [{ signingDomain: domain, selector: 'sel', privateKey: DKIM_KEY }],
    } as unknown as Parameters<typeof dkimSign>[1])).signatures;
    const own = await sign('signed.example', message2);
    const twice = (await sign('broken.example', own + message2)) + own + message2;
    expect((await send(outside, 'news@signed.example', ['bob@example.test'], twice)).at(-1)).toMatch(/^250 /);
    const text2 = (await received('bob', 'dkim-twice'))!;
    expect(text2).toMatch(/dkim=temperror[^;]*header\.i=@broken\.example/);
    expect(text2).toMatch(/dmarc=pass/);

    const tampered = (signatures + message).replace('Subject: dkim-good', 'Subject: dkim-bad').replace('hello', 'send money');
    const bad = await send(outside, 'news@signed.example', ['bob@example.test'], tampered);
    expect(bad.at(-1)).toMatch(/^550 5\.7\.1 Rejected by DMARC policy for signed\.example/);
    expect(await received('bob', 'dkim-bad')).toBeUndefined();
  });

  it('applies DMARC: p=reject refused, p=quarantine delivered with dmarc=fail', async () => {
    const r = await send(outside, 'x@reject.example', ['bob@example.test'], plain('x@reject.example', 'dmarc-reject'));
    expect(r.at(-1)).toMatch(/^550 5\.7\.1 Rejected by DMARC policy for reject\.example/);
    expect(await received('bob', 'dmarc-reject')).toBeUndefined();
    const q = await send(outside, 'x@quarantine.example', ['bob@example.test'], plain('x@quarantine.example', 'dmarc-quarantine'));
    expect(q.at(-1)).toMatch(/^250 /);
    expect(await received('bob', 'dmarc-quarantine')).toMatch(/dmarc=fail/);
  });

  it('answers 451 4.4.3 instead of a DMARC reject when a DNS lookup failed', async () => {
    const r = await send(outside, 'x@flaky.example', ['bob@example.test'], plain('x@flaky.example', 'dns-trouble'));
    expect(r.at(-1)).toMatch(/^451 4\.4\.3 /);
    expect(await received('bob', 'dns-trouble')).toBeUndefined();
  });

  it('skips the checks for mynetworks clients (no Authentication-Results, no DMARC reject)', async () => {
    const r = await send(trusted, 'x@reject.example', ['bob@example.test'], plain('x@reject.example', 'internal'));
    expect(r.at(-1)).toMatch(/^250 /);
    const text = (await received('bob', 'internal'))!;
    expect(text).not.toMatch(/Authentication-Results:|Received-SPF:/);
  });

  it('refuses clients on a DNS blocklist (554 5.7.1), ignoring failed and non-matching lists', async () => {
    const r = await send(blocked, 'x@pass.example', ['bob@example.test'], plain('x@pass.example', 'listed'));
    expect(r[1]).toBe('554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using bl.example');
    // `outside` asks a SERVFAIL list and one whose only counted answer (127.0.0.9) is not given
    const ok = await send(outside, 'x@pass.example', ['bob@example.test'], plain('x@pass.example', 'not-listed'));
    expect(ok.at(-1)).toMatch(/^250 /);
    expect(reverseName('192.0.2.1')).toBe('1.2.0.192');
    expect(reverseName('::ffff:192.0.2.1')).toBe('1.2.0.192');
    expect(reverseName('2001:db8::1')).toBe('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2');
  });

  it('refuses senders in rejected TLDs (554 5.7.1), subdomains included', async () => {
    const r = await send(outside, 'x@spam.xyz', ['bob@example.test'], plain('x@spam.xyz', 'tld'));
    expect(r[1]).toBe('554 5.7.1 <x@spam.xyz>: Sender address rejected: Access denied');
    // a domain merely ending in the letters is not in the TLD
    const ok = await send(outside, 'x@pass.example', ['bob@example.test'], plain('x@pass.example', 'not-tld'));
    expect(ok.at(-1)).toMatch(/^250 /);
  });

  it('sends blind copies per sender_bcc and recipient_bcc maps, local and relayed', async () => {
    const before = new Set(await readdir(path.join(dir, 'queue/queued')));
    // recipient_bcc: mail to alice is copied to archive; sender_bcc by address
    expect((await send(outside, 'boss@pass.example', ['bob@example.test'], plain('boss@pass.example', 'bcc-sender'))).at(-1)).toMatch(/^250 /);
    expect((await send(outside, 'x@pass.example', ['alice+tag@example.test'], plain('x@pass.example', 'bcc-recipient'))).at(-1)).toMatch(/^250 /);
    expect(await received('archive', 'bcc-sender')).toBeDefined();
    expect(await received('archive', 'bcc-recipient')).toBeDefined();
    expect(await received('alice', 'bcc-recipient')).toBeDefined();
    // sender_bcc by @domain to a remote address: the copy goes to the outbound spool
    expect((await send(outside, 'y@soft.example', ['bob@example.test'], plain('y@soft.example', 'bcc-remote'))).at(-1)).toMatch(/^250 /);
    const added = (await readdir(path.join(dir, 'queue/queued'))).filter((f) => !before.has(f) && f.endsWith('.json'));
    expect(added).toHaveLength(1);
    const env = JSON.parse(await readFile(path.join(dir, 'queue/queued', added[0]!), 'utf8'));
    expect(env).toMatchObject({ from: 'y@soft.example', to: ['audit@elsewhere.example'] });
    // the archive copy is a blind copy: no recipient header names it
    expect(await received('archive', 'bcc-sender')).not.toMatch(/^Delivered-To: archive/m);
  });
});
