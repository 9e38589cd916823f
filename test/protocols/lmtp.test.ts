import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailStore } from '../../src/compose.js';
import { parseConfig } from '../../src/config/load.js';
import { TempFailure } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { Listener } from '../../src/daemon/listener.js';
import { LocalDelivery } from '../../src/delivery/local-delivery.js';
import { MaildirStore } from '../../src/mailstore/maildir/store.js';
import { Directory } from '../../src/directory/directory.js';
import { PasswdFileBackend } from '../../src/directory/passwd-file/backend.js';
import { PasswordHasher } from '../../src/directory/schemes/index.js';
import { LmtpService } from '../../src/protocols/smtp/lmtp.js';
import { RawClient } from '../helpers/raw-smtp.js';
import { tempDir } from '../helpers/tmp.js';

describe('LMTP (RFC 2033)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let listener: Listener;
  let port: number;
  let hasher: PasswordHasher;
  const maildir = (u: string) => path.join(dir, 'vmail/example.test', u);
  const newFiles = async (u: string) => (await readdir(path.join(maildir(u), 'new')).catch(() => [])).sort();

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeFile(path.join(dir, 'users'), 'alice@example.test:{PLAIN}x:::::\nbob@example.test:{PLAIN}x:::::\nfull@example.test:{PLAIN}x::::::userdb_quota_rule=*:bytes=10\n');
    await writeFile(path.join(dir, 'aliases'), 'team@example.test alice@example.test, bob@example.test\n');
    const config = parseConfig(`data_dir = "."\n[mail]\nmax_message_size = 2000\nlocation = "maildir:vmail/%d/%n"\n`, path.join(dir, 't.toml'));
    const backend = new PasswdFileBackend({ passwdFile: path.join(dir, 'users'), aliasesFile: path.join(dir, 'aliases'), domainsFile: path.join(dir, 'domains'), configDomains: ['example.test'] });
    hasher = new PasswordHasher({ defaultScheme: 'PLAIN', workers: 0 });
    const directory = new Directory(backend, hasher, { mailLocation: config.mail.location, recipientDelimiter: '+' }, silentLogger);
    const store = createMailStore(config, silentLogger);
    const delivery = new LocalDelivery({ directory, store, log: silentLogger });
    const lmtp = new LmtpService({ hostname: 'mx.example.test', maxMessageSize: 2000, delivery, log: silentLogger });
    listener = new Listener({ name: 'lmtp', address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, handler: (s) => lmtp.handle(s) }, silentLogger);
    await listener.start();
    port = listener.port!;
  });
  afterAll(async () => {
    await listener.stop(0);
    await hasher.close();
    await cleanup();
  });

  it('greets, answers LHLO with the extensions, and refuses HELO/EHLO', async () => {
    const c = await RawClient.connect(port);
    c.send('EHLO client.example\r\n');
    expect((await c.replies(1))[0]).toMatch(/^500 /);
    c.send('LHLO client.example\r\n');
    await c.replies(1);
    const lhlo = c.all.slice(c.all.indexOf('250-'));
    for (const ext of ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'SIZE 2000']) expect(lhlo).toContain(ext);
    expect(lhlo).not.toContain('AUTH');
    expect(lhlo).not.toContain('STARTTLS');
    expect(c.all).toMatch(/^220 mx\.example\.test /);
    c.socket.destroy();
  });

  it('replies per recipient after DATA: delivered, over quota; unknown refused at RCPT', async () => {
    const c = await RawClient.connect(port);
    c.send('LHLO mx.test\r\n');
    await c.replies(1);
    c.send('MAIL FROM:<sender@remote.example>\r\n');
    expect(await c.replies(1)).toEqual([expect.stringMatching(/^250 /)]);
    c.send('RCPT TO:<alice@example.test>\r\nRCPT TO:<nobody@example.test>\r\nRCPT TO:<full@example.test>\r\nRCPT TO:<bob+tag@example.test>\r\n');
    const rcpt = await c.replies(4);
    expect(rcpt[0]).toMatch(/^250 /);
    expect(rcpt[1]).toMatch(/^550 5\.1\.1 /);
    expect(rcpt[2]).toMatch(/^250 /);
    expect(rcpt[3]).toMatch(/^250 /);
    c.send('DATA\r\n');
    expect((await c.replies(1))[0]).toMatch(/^354 /);
    c.send('Subject: per recipient\r\n\r\n' + 'x'.repeat(100) + '\r\n.\r\n');
    const after = await c.replies(3);
    expect(after[0]).toMatch(/^250 2\.0\.0 <alice@example\.test> \S+ Saved$/);
    expect(after[1]).toMatch(/^552 5\.2\.2 /);
    expect(after[2]).toMatch(/^250 2\.0\.0 <bob\+tag@example\.test> /);
    c.send('QUIT\r\n');
    await c.replies(1);
    const [file] = await newFiles('alice');
    expect(await readFile(path.join(maildir('alice'), 'new', file!), 'utf8')).toMatch(/^Return-Path: <sender@remote\.example>\nSubject: per recipient\n/);
    expect(await newFiles('full')).toEqual([]);
  });

  it('works with nodemailer\'s LMTP client (what a Postfix-like MTA does), aliases included', async () => {
    const conn = new SMTPConnection({ host: '127.0.0.1', port, lmtp: true, name: 'mta.example' } as ConstructorParameters<typeof SMTPConnection>[0]);
    await new Promise<void>((resolve, reject) => {
      conn.once('error', reject);
      conn.connect(() => resolve());
    });
    const info = await new Promise<SMTPConnection.SentMessageInfo>((resolve, reject) =>
      conn.send({ from: 'a@remote.example', to: ['team@example.test', 'ghost@example.test'] }, 'Subject: via nodemailer\r\n\r\nhello\r\n', (err, i) => (err ? reject(err) : resolve(i))));
    conn.quit();
    expect(info.accepted).toEqual(['team@example.test']);
    expect(info.rejected).toEqual(['ghost@example.test']);
    for (const u of ['alice', 'bob']) {
      const texts = await Promise.all((await newFiles(u)).map((f) => readFile(path.join(maildir(u), 'new', f), 'utf8')));
      expect(texts.some((t) => t.includes('Subject: via nodemailer')), u).toBe(true);
    }
  });

  it('refuses an oversized message (552 5.3.4) at MAIL SIZE= and during DATA, storing nothing', async () => {
    const c = await RawClient.connect(port);
    c.send('LHLO mx.test\r\n');
    await c.replies(1);
    c.send('MAIL FROM:<s@remote.example> SIZE=5000\r\n');
    expect((await c.replies(1))[0]).toMatch(/^552 5\.3\.4 /);
    const before = await newFiles('bob');
    c.send('MAIL FROM:<s@remote.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n');
    expect(await c.replies(3)).toEqual([expect.stringMatching(/^250/), expect.stringMatching(/^250/), expect.stringMatching(/^354/)]);
    c.send('Subject: big\r\n\r\n' + ('y'.repeat(70) + '\r\n').repeat(60) + '.\r\n');
    expect((await c.replies(1))[0]).toMatch(/^552 5\.3\.4 /);
    expect(await newFiles('bob')).toEqual(before);
    expect(await readdir(path.join(maildir('bob'), 'tmp'))).toEqual([]);
    c.socket.destroy();
  });

  it('is not fooled by SMTP smuggling: <LF>.<LF> and <CR>.<CR> do not end the data', async () => {
    const c = await RawClient.connect(port);
    c.send('LHLO mx.test\r\nMAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n');
    await c.replies(4);
    const before = (await newFiles('alice')).length;
    c.send('Subject: smuggle\r\n\r\nfirst\n.\nMAIL FROM:<evil@remote.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r.\rmore\r\n.\r\n');
    expect((await c.replies(1))[0]).toMatch(/^250 2\.0\.0 <alice@example\.test>/);
    c.send('QUIT\r\n');
    await c.replies(1);
    const files = await newFiles('alice');
    expect(files.length).toBe(before + 1);
    const texts = await Promise.all(files.map((f) => readFile(path.join(maildir('alice'), 'new', f), 'utf8')));
    const text = texts.find((t) => t.includes('Subject: smuggle\n'))!;
    expect(text).toContain('MAIL FROM:<evil@remote.example>');
    expect(text).toContain('Subject: smuggled');
    for (const f of await newFiles('bob')) expect(await readFile(path.join(maildir('bob'), 'new', f), 'utf8')).not.toContain('Subject: smuggled');
  });

  it('leaves nothing behind when the client disconnects mid-DATA', async () => {
    const c = await RawClient.connect(port);
    c.send('LHLO mx.test\r\nMAIL FROM:<s@remote.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n');
    await c.replies(4);
    const before = await newFiles('bob');
    c.send('Subject: cut\r\n\r\nhalf of it');
    await new Promise((r) => setTimeout(r, 100));
    c.socket.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect(await newFiles('bob')).toEqual(before);
    expect(await readdir(path.join(maildir('bob'), 'tmp'))).toEqual([]);
  });

  it('answers 451 4.3.0 at RCPT when the directory is unavailable (e.g. MySQL down), never 550', async () => {
    const failing = new PasswdFileBackend({ passwdFile: path.join(dir, 'users'), aliasesFile: path.join(dir, 'aliases'), domainsFile: path.join(dir, 'domains'), configDomains: [] });
    failing.isLocalDomain = async () => { throw new TempFailure('mysql down'); };
    const directory = new Directory(failing, hasher, { mailLocation: `maildir:${dir}/vmail/%d/%n`, recipientDelimiter: '+' }, silentLogger);
    const service = new LmtpService({
      hostname: 'mx.example.test', maxMessageSize: 2000, log: silentLogger,
      delivery: new LocalDelivery({ directory, store: new MaildirStore({ log: silentLogger }), log: silentLogger }),
    });
    const l = new Listener({ name: 'lmtp2', address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, handler: (s) => service.handle(s) }, silentLogger);
    await l.start();
    try {
      const c = await RawClient.connect(l.port!);
      c.send('LHLO mx.test\r\nMAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.test>\r\n');
      const r = await c.replies(3);
      expect(r[2]).toMatch(/^451 4\.3\.0 /);
      c.socket.destroy();
    } finally {
      await l.stop(0);
    }
  });
});
