import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { publish, writeTmp } from '../../src/mailstore/maildir/save.js';
import { tempDir } from '../helpers/tmp.js';

describe('durable save: tmp → fsync → link → fsync dirs', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    for (const d of ['tmp', 'new', 'cur', '.Other/new', '.Other/cur', '.Other/tmp']) await mkdir(path.join(dir, d), { recursive: true });
  });
  afterEach(() => cleanup());

  it('writes once and links into several folders, leaving tmp/ empty', async () => {
    const msg = await writeTmp(path.join(dir, 'tmp'), '1700000000.M1P2.host', Readable.from([Buffer.from('Subject: x\r\n\r\n'), Buffer.from('hello\r\n')]));
    expect(msg.base).toBe('1700000000.M1P2.host,S=18,W=21');
    const when = new Date('2024-02-03T04:05:06Z');
    const names = await publish(msg, [{ dir: path.join(dir, 'new'), info: null }, { dir: path.join(dir, '.Other/cur'), info: 'FS' }], when);
    expect(names).toEqual(['1700000000.M1P2.host,S=18,W=21', '1700000000.M1P2.host,S=18,W=21:2,FS']);
    expect(await readdir(path.join(dir, 'tmp'))).toEqual([]);
    const a = await stat(path.join(dir, 'new', names[0]!));
    const b = await stat(path.join(dir, '.Other/cur', names[1]!));
    expect(a.ino).toBe(b.ino);
    expect(a.nlink).toBe(2);
    expect(a.mtime.getTime()).toBe(when.getTime());
    expect(await readFile(path.join(dir, 'new', names[0]!), 'utf8')).toBe('Subject: x\n\nhello\n');
  });

  it.runIf(existsSync('/dev/shm'))('copies to a Maildir on another filesystem (no hard link across them)', async () => {
    const other = await mkdtemp(path.join('/dev/shm', 'tsmail-xdev-'));
    try {
      for (const d of ['tmp', 'new', 'cur']) await mkdir(path.join(other, d));
      const msg = await writeTmp(path.join(dir, 'tmp'), 'x1', Buffer.from('Subject: x\r\n\r\nbody\r\n'));
      const when = new Date('2023-01-02T03:04:05Z');
      const [a, b] = await publish(msg, [{ dir: path.join(dir, 'new'), info: null }, { dir: path.join(other, 'new'), info: null }], when);
      expect(await readFile(path.join(other, 'new', b!), 'utf8')).toBe(await readFile(path.join(dir, 'new', a!), 'utf8'));
      expect((await stat(path.join(other, 'new', b!))).mtime.getTime()).toBe(when.getTime());
      expect(await readdir(path.join(other, 'tmp'))).toEqual([]);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('undoes its links when one target fails, and reports a temporary failure', async () => {
    const msg = await writeTmp(path.join(dir, 'tmp'), 'u1', Buffer.from('x\r\n'));
    await expect(publish(msg, [{ dir: path.join(dir, 'new'), info: null }, { dir: path.join(dir, 'missing/new'), info: null }]))
      .rejects.toMatchObject({ name: 'TempFailure' });
    expect(await readdir(path.join(dir, 'new'))).toEqual([]);
  });

  it('removes the tmp file when the input stream fails midway (client disconnect)', async () => {
    const broken = new Readable({
      read() {
        this.push(Buffer.from('partial data\r\n'));
        this.destroy(new Error('client went away'));
      },
    });
    await expect(writeTmp(path.join(dir, 'tmp'), 'u2', broken)).rejects.toMatchObject({ name: 'TempFailure' });
    expect(await readdir(path.join(dir, 'tmp'))).toEqual([]);
  });

  it('refuses to overwrite an existing tmp name', async () => {
    await writeTmp(path.join(dir, 'tmp'), 'same', Buffer.from('a'));
    await expect(writeTmp(path.join(dir, 'tmp'), 'same', Buffer.from('b'))).rejects.toMatchObject({ name: 'TempFailure' });
  });
});

describe('tmp/ cleanup', () => {
  it('removes files older than 36 hours, as Dovecot does, and keeps recent ones', async () => {
    const { cleanTmp } = await import('../../src/mailstore/maildir/scan.js');
    const { writeFile, utimes } = await import('node:fs/promises');
    const { dir, cleanup } = await tempDir();
    try {
      await mkdir(path.join(dir, 'tmp'));
      await writeFile(path.join(dir, 'tmp', 'old'), 'x');
      await writeFile(path.join(dir, 'tmp', 'fresh'), 'y');
      const old = new Date(Date.now() - 37 * 3600 * 1000);
      await utimes(path.join(dir, 'tmp', 'old'), old, old);
      expect(await cleanTmp(dir, Date.now())).toBe(1);
      expect(await readdir(path.join(dir, 'tmp'))).toEqual(['fresh']);
    } finally {
      await cleanup();
    }
  });
});
