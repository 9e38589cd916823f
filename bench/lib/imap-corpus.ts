/**
 * Maildirs for the IMAP benchmarks, written straight into `new/` as another MTA would leave them
 * (LF line ends, Dovecot-style names with S= and W=), so tsmail and Dovecot both start from
 * unindexed folders with the same content. Message n of a folder is the same bytes everywhere.
 */
import { chown, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { prng } from '../../test/helpers/prng.js';

const WORDS = ['invoice', 'meeting', 'report', 'holiday', 'update', 'question', 'budget', 'draft', 'photo', 'review'];

/** Message n (LF line ends), of about `size` bytes. */
export function corpusMessage(n: number, size: number): string {
  const rand = prng(n + 1);
  const w = () => WORDS[Math.floor(rand() * WORDS.length)]!;
  const head =
    `Return-Path: <sender${n % 50}@remote.example>\nDelivered-To: user@example.test\n` +
    `From: Sender ${n % 50} <sender${n % 50}@remote.example>\nTo: user@example.test\n` +
    `Subject: ${w()} ${w()} #${n}\nDate: Mon, 23 Nov 2026 10:${String(n % 60).padStart(2, '0')}:00 +0000\n` +
    `Message-ID: <${n}.corpus@remote.example>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n`;
  const lines: string[] = [];
  let len = head.length;
  while (len < size) {
    const l = `${w()} ${w()} ${w()} ${w()} ${w()} ${w()} ${w()} ${w()} the quick brown fox ${n}`;
    lines.push(l);
    len += l.length + 1;
  }
  return head + lines.join('\n') + '\n';
}

/**
 * Writes `count` messages of ~`size` bytes into the folder at `dir` (created with cur/new/tmp),
 * in batches so that 100,000 files do not open 100,000 descriptors at once.
 */
export async function fillFolder(dir: string, count: number, size: number, first = 0): Promise<void> {
  for (const sub of ['cur', 'new', 'tmp']) await mkdir(path.join(dir, sub), { recursive: true });
  const BATCH = 256;
  for (let i = 0; i < count; i += BATCH) {
    const jobs: Promise<void>[] = [];
    for (let k = i; k < Math.min(count, i + BATCH); k++) {
      const n = first + k;
      const text = corpusMessage(n, size);
      const bytes = Buffer.byteLength(text);
      const lf = text.split('\n').length - 1;
      // Distinct, increasing names: Dovecot and tsmail both give UIDs in name order.
      const name = `${1700000000 + n}.M${n}P1.bench,S=${bytes},W=${bytes + lf}`;
      jobs.push(writeFile(path.join(dir, 'new', name), text));
    }
    await Promise.all(jobs);
  }
}

/** chown -R to nobody:nogroup (Dovecot's userdb in bench/lib/dovecot.ts runs as nobody). */
export async function chownTree(dir: string, uid = 65534, gid = 65534): Promise<void> {
  await chown(dir, uid, gid);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await chownTree(p, uid, gid);
    else await chown(p, uid, gid);
  }
}
