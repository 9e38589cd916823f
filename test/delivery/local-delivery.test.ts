import { readdir, readFile, rm, stat, writeFile, chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { MaildirStore } from '../../src/mailstore/maildir/store.js';
import { LocalDelivery } from '../../src/delivery/local-delivery.js';
import { Directory } from '../../src/directory/directory.js';
import { PasswdFileBackend } from '../../src/directory/passwd-file/backend.js';
import { PasswordHasher } from '../../src/directory/schemes/index.js';
import type { DirectoryBackend } from '../../src/directory/types.js';
import { TempFailure } from '../../src/core/errors.js';
import { tempDir } from '../helpers/tmp.js';

const MESSAGE = 'From: a@remote.example\r\nTo: team@example.test\r\nSubject: hello\r\n\r\nBody line 1\r\n.dot line\r\n';

describe('local delivery', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let hasher: PasswordHasher;
  let delivery: LocalDelivery;
  let backend: DirectoryBackend;

  const maildir = (user: string) => path.join(dir, 'vmail/example.test', user);
  const newFiles = async (user: string) => (await readdir(path.join(maildir(user), 'new')).catch(() => [])).sort();

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeFile(path.join(dir, 'users'), ['alice', 'bob', 'carol'].map((u) => `${u}@example.test:{PLAIN}x:::::`).join('\n') + '\nsmall@example.test:{PLAIN}x::::::userdb_quota_rule=*:bytes=300\n');
    await writeFile(path.join(dir, 'aliases'), 'team@example.test alice@example.test, bob@example.test\nout@example.test someone@remote.example\n');
    backend = new PasswdFileBackend({ passwdFile: path.join(dir, 'users'), aliasesFile: path.join(dir, 'aliases'), domainsFile: path.join(dir, 'domains'), configDomains: ['example.test'] });
    hasher = new PasswordHasher({ defaultScheme: 'SHA512-CRYPT', workers: 0 });
    const directory = new Directory(backend, hasher, { mailLocation: `maildir:${dir}/vmail/%d/%n`, recipientDelimiter: '+' }, silentLogger);
    delivery = new LocalDelivery({ directory, store: new MaildirStore({ log: silentLogger, hostname: 'test', now: () => 1_700_000_000_000 }), log: silentLogger });
  });
  afterEach(async () => {
    await hasher.close();
    await cleanup();
  });

  it('delivers one recipient with Return-Path and Delivered-To on top, body unchanged', async () => {
    const tx = delivery.begin({ sender: 'a@remote.example' });
    expect(await tx.addRecipient('alice+news@example.test')).toBeNull();
    const results = await tx.commit(Readable.from([Buffer.from(MESSAGE.slice(0, 20)), Buffer.from(MESSAGE.slice(20))]));
    expect(results).toEqual([{ kind: 'delivered', mailboxes: ['alice@example.test'] }]);
    const [file] = await newFiles('alice');
    const text = await readFile(path.join(maildir('alice'), 'new', file!), 'utf8');
    expect(text).toBe(('Return-Path: <a@remote.example>\r\nDelivered-To: alice+news@example.test\r\n' + MESSAGE).replace(/\r\n/g, '\n'));
    const size = Buffer.byteLength(text);
    expect(file).toBe(`1700000000.M0P${process.pid}.test,S=${size},W=${size + text.split('\n').length - 1}`);
    expect((await stat(maildir('alice'))).mode & 0o777).toBe(0o700);
    expect(await readdir(path.join(maildir('alice'), 'tmp'))).toEqual([]);
  });

  it('writes once for several recipients and aliases (hard links), without Delivered-To', async () => {
    const tx = delivery.begin({ sender: '' });
    expect(await tx.addRecipient('team@example.test')).toBeNull();
    expect(await tx.addRecipient('carol@example.test')).toBeNull();
    expect(await tx.addRecipient('alice@example.test')).toBeNull();
    const results = await tx.commit(Buffer.from(MESSAGE));
    expect(results).toEqual([
      { kind: 'delivered', mailboxes: ['alice@example.test', 'bob@example.test'] },
      { kind: 'delivered', mailboxes: ['carol@example.test'] },
      { kind: 'delivered', mailboxes: ['alice@example.test'] },
    ]);
    const inodes = new Set<number>();
    for (const u of ['alice', 'bob', 'carol']) {
      const files = await newFiles(u);
      expect(files, u).toHaveLength(1);
      const p = path.join(maildir(u), 'new', files[0]!);
      inodes.add((await stat(p)).ino);
      const text = await readFile(p, 'utf8');
      expect(text.startsWith('Return-Path: <>\nFrom:')).toBe(true);
      expect(text).not.toContain('Delivered-To');
    }
    expect(inodes.size).toBe(1);
  });

  it('reports unknown recipients at RCPT time and stores nothing for them', async () => {
    const tx = delivery.begin({ sender: 'a@remote.example' });
    expect(await tx.addRecipient('nobody@example.test')).toEqual({ kind: 'unknown' });
    expect(await tx.addRecipient('x@not-ours.example')).toEqual({ kind: 'relay' });
    expect(await tx.addRecipient('../../etc@example.test')).toEqual({ kind: 'unknown' });
    expect(await tx.addRecipient("' OR 1=1 --@example.test")).toEqual({ kind: 'unknown' });
    expect(await tx.commit(Buffer.from(MESSAGE))).toEqual([]);
    expect(await readdir(dir)).not.toContain('vmail');
  });

  it('turns directory outages into temporary failures, never unknown', async () => {
    const failing = Object.create(backend) as DirectoryBackend;
    failing.isLocalDomain = async () => { throw new TempFailure('mysql down'); };
    const directory = new Directory(failing, hasher, { mailLocation: `maildir:${dir}/vmail/%d/%n`, recipientDelimiter: '+' }, silentLogger);
    const tx = new LocalDelivery({ directory, store: new MaildirStore({ log: silentLogger }), log: silentLogger }).begin({ sender: '' });
    expect(await tx.addRecipient('alice@example.test')).toEqual({ kind: 'temp', reason: 'mysql down' });
  });

  it('gives a temporary failure when a Maildir cannot be created, delivering the others', async () => {
    await mkdir(path.join(dir, 'vmail/example.test'), { recursive: true });
    await writeFile(maildir('bob'), 'not a directory');
    const tx = delivery.begin({ sender: '' });
    await tx.addRecipient('alice@example.test');
    await tx.addRecipient('bob@example.test');
    const results = await tx.commit(Buffer.from(MESSAGE));
    expect(results[0]).toEqual({ kind: 'delivered', mailboxes: ['alice@example.test'] });
    expect(results[1]).toMatchObject({ kind: 'temp' });
    await chmod(maildir('bob'), 0o600);
  });

  it('refuses an over-quota mailbox (after Dovecot\'s 10% grace) and keeps maildirsize', async () => {
    // on disk: 'Return-Path: <>\n' (16) + 'Delivered-To: small@example.test\n' (33, one recipient only)
    // + 'Subject: q\n\n' (12) + body + '\n'
    const send = async (bodyLen: number, ...rcpts: string[]) => {
      const tx = delivery.begin({ sender: '' });
      for (const r of rcpts) await tx.addRecipient(r);
      return tx.commit(Buffer.from('Subject: q\r\n\r\n' + 'x'.repeat(bodyLen) + '\r\n'));
    };
    expect((await send(60, 'small@example.test'))[0]!.kind).toBe('delivered'); // 122 of 300
    expect((await send(60, 'small@example.test'))[0]!.kind).toBe('delivered'); // 244
    expect((await send(20, 'small@example.test'))[0]!.kind).toBe('delivered'); // 326: over, but within 10% grace
    expect(await send(1, 'small@example.test', 'alice@example.test')).toEqual([
      { kind: 'quota', mailbox: 'small@example.test' },
      { kind: 'delivered', mailboxes: ['alice@example.test'] },
    ]);
    expect(await newFiles('small')).toHaveLength(3);
    // Over the limit with several usage lines, Dovecot's rule distrusts the file and recounts
    // the Maildir: the recalculated file holds exactly the three stored messages.
    expect(await readFile(path.join(maildir('small'), 'maildirsize'), 'utf8')).toBe('300S\n326 3\n');
    // no maildirsize for users without a limit
    await expect(readFile(path.join(maildir('alice'), 'maildirsize'))).rejects.toThrow();
  });

  it('recreates a Maildir removed behind its back (after one temporary failure at most)', async () => {
    const send = async () => {
      const tx = delivery.begin({ sender: '' });
      await tx.addRecipient('alice@example.test');
      return tx.commit(Buffer.from(MESSAGE)).catch((err: Error) => [{ kind: 'temp', reason: err.message }]);
    };
    expect((await send())[0]!.kind).toBe('delivered');
    await rm(maildir('alice'), { recursive: true });
    const second = await send();
    if (second[0]!.kind !== 'delivered') expect(second[0]!.kind).toBe('temp');
    expect((await send())[0]!.kind).toBe('delivered');
    expect((await newFiles('alice')).length).toBeGreaterThanOrEqual(1);
  });

  it('leaves nothing behind when the client disconnects mid-DATA', async () => {
    const tx = delivery.begin({ sender: '' });
    await tx.addRecipient('alice@example.test');
    const broken = new Readable({
      read() {
        this.push(Buffer.from('Subject: partial\r\n\r\nhalf a'));
        this.destroy(new Error('connection reset'));
      },
    });
    await expect(tx.commit(broken)).rejects.toBeInstanceOf(TempFailure);
    expect(await newFiles('alice')).toEqual([]);
    expect(await readdir(path.join(maildir('alice'), 'tmp'))).toEqual([]);
  });
});
