import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMaildirName } from '../../src/mailstore/maildir/filename.js';
import {
  formatLimits,
  formatMaildirsize,
  formatMaildirsizeDelta,
  MAILDIRSIZE_STALE_MS,
  parseLimits,
  readMaildirsize,
  type QuotaLimits,
  type QuotaUsage,
} from '../../src/mailstore/maildir/maildirsize.js';
import { cleanup, doveadmAvailable, doveadmOk, giveToDovecot, makeDovecotHome, type DovecotHome } from './helpers/dovecot.js';

const NOW = 1_700_000_000_000;
const fresh = { mtimeMs: NOW, nowMs: NOW };
const MB: QuotaLimits = { bytes: 1048576, count: 0 };

describe('maildirsize', () => {
  it('parses and formats limits as Dovecot does', () => {
    expect(parseLimits('1048576S,100C')).toEqual({ bytes: 1048576, count: 100 });
    expect(parseLimits('100C')).toEqual({ bytes: 0, count: 100 });
    expect(parseLimits('0S')).toEqual({ bytes: 0, count: 0 });
    expect(parseLimits('12X,5S,bad,7C,')).toEqual({ bytes: 5, count: 7 });
    expect(parseLimits('')).toEqual({ bytes: 0, count: 0 });
    expect(formatLimits({ bytes: 1048576, count: 100 })).toBe('1048576S,100C');
    expect(formatLimits({ bytes: 1048576, count: 0 })).toBe('1048576S');
    expect(formatLimits({ bytes: 0, count: 100 })).toBe('100C');
    expect(formatLimits({ bytes: 0, count: 0 })).toBe('0S');
  });

  it('formats a recalculated file and change lines', () => {
    expect(formatMaildirsize(MB, { bytes: 304, count: 10 })).toBe('1048576S\n304 10\n');
    expect(formatMaildirsizeDelta(32, 1)).toBe('32 1\n');
    expect(formatMaildirsizeDelta(-30, -1)).toBe('-30 -1\n');
    expect(formatMaildirsizeDelta(0, 0)).toBe('');
    expect(() => formatMaildirsize(MB, { bytes: -1, count: 0 })).toThrow(RangeError);
  });

  it('sums the lines of a file it can trust', () => {
    expect(readMaildirsize('1048576S\n0 0\n28 1\n30 1\n-30 -1\n', fresh)).toEqual({ valid: true, limits: MB, usage: { bytes: 28, count: 1 }, usageLines: 4 });
    expect(readMaildirsize('1048576S\n7 1\n99', fresh)).toMatchObject({ valid: true, usage: { bytes: 7, count: 1 } }); // unfinished line
    expect(readMaildirsize(' 1048576S\n  +7  1 trailing\n', fresh)).toMatchObject({ valid: true, usage: { bytes: 7, count: 1 }, limits: { bytes: 0, count: 0 } });
    expect(readMaildirsize('', { ...fresh })).toEqual({ valid: true, limits: { bytes: 0, count: 0 }, usage: { bytes: 0, count: 0 }, usageLines: 0 });
    expect(readMaildirsize('100C\n5 1\n', { ...fresh, configured: { bytes: 0, count: 100 } })).toMatchObject({ valid: true });
  });

  it.each([
    [undefined, 'missing'],
    ['1048576S\n' + '1 0\n'.repeat(1280), 'too-large'],
    ['1048576S\n7\x001\n', 'nul'],
    ['1048576S\n7 1\n\n3 1\n', 'bad-line'],
    ['1048576S\n7 1\nabc\n', 'bad-line'],
    ['1048576S\n-5 0\n', 'negative'],
    ['5S\n7 1\n', 'limits-changed'],
    ['1048576S\n2000000 1\n5 1\n', 'over-quota-unsure'],
  ])('recalculates %j (%s)', (content, reason) => {
    expect(readMaildirsize(content, { ...fresh, configured: MB })).toMatchObject({ valid: false, reason });
  });

  it('trusts an over-quota summary line only while it is fresh', () => {
    const over = '1048576S\n2000000 1\n';
    expect(readMaildirsize(over, { configured: MB, mtimeMs: NOW - MAILDIRSIZE_STALE_MS, nowMs: NOW })).toMatchObject({ valid: true });
    expect(readMaildirsize(over, { configured: MB, mtimeMs: NOW - MAILDIRSIZE_STALE_MS - 1, nowMs: NOW })).toMatchObject({ valid: false, reason: 'over-quota-unsure' });
    expect(readMaildirsize('10C\n5 11\n', { mtimeMs: 0, nowMs: NOW })).toMatchObject({ valid: false, reason: 'over-quota-unsure' }); // file's own limits
    expect(readMaildirsize('1048576S\n5119 1\n', { ...fresh, configured: MB }).valid).toBe(true);
  });
});

const dv = doveadmAvailable();

describe.skipIf(!dv.ok)('maildirsize against real Dovecot (doveadm)', () => {
  let h: DovecotHome;
  const file = (home = h): string => path.join(home.mail, 'maildirsize');

  async function usageOnDisk(home = h): Promise<QuotaUsage> {
    const usage = { bytes: 0, count: 0 };
    for (const dir of ['new', 'cur']) {
      for (const n of await readdir(path.join(home.mail, dir))) {
        usage.bytes += parseMaildirName(n).size!;
        usage.count++;
      }
    }
    return usage;
  }

  beforeAll(async () => {
    h = await makeDovecotHome({ quotaRule: 'storage=1M' });
  });
  afterAll(async () => {
    if (h) await cleanup(h);
  });

  it('reads the file Dovecot keeps, and writes the one it recalculates', async () => {
    for (let i = 1; i <= 5; i++) await doveadmOk(h, ['save'], `Subject: ${i}\n\n${'q'.repeat(i * 10)}\n`);
    await doveadmOk(h, ['expunge', 'mailbox', 'INBOX', 'uid', '2']);
    const text = await readFile(file(), 'utf8');
    expect(text.split('\n').length).toBeGreaterThan(3); // summary line plus appended changes
    const state = readMaildirsize(text, { configured: MB, mtimeMs: Date.now(), nowMs: Date.now() });
    expect(state).toMatchObject({ valid: true, limits: MB, usage: await usageOnDisk() });
    // the change lines are what formatMaildirsizeDelta writes
    for (const line of text.split('\n').slice(1, -1)) {
      const [b, c] = line.split(' ').map(Number);
      expect(formatMaildirsizeDelta(b!, c!) || '0 0\n').toBe(`${line}\n`);
    }
    await doveadmOk(h, ['quota', 'recalc']);
    expect(await readFile(file(), 'utf8')).toBe(formatMaildirsize(MB, await usageOnDisk()));
  });

  // Each case: file content and mtime age; whether Dovecot trusted it (left it alone) must match
  // readMaildirsize(), and when it did not, it wrote formatMaildirsize() of the real usage.
  const cases: [string, string, number][] = [
    ['a plausible file', '1048576S\n7 1\n', 0],
    ['an unfinished last line', '1048576S\n7 1\n99', 0],
    ['other limits', '5S\n7 1\n', 0],
    ['a fresh over-quota summary', '1048576S\n2000000 1\n', 0],
    ['an old over-quota summary', '1048576S\n2000000 1\n', MAILDIRSIZE_STALE_MS + 60_000],
    ['over quota after changes', '1048576S\n2000000 1\n5 1\n', 0],
    ['a negative sum', '1048576S\n-5 0\n', 0],
    ['a garbage line', '1048576S\n7 1\nabc\n', 0],
    ['a NUL', '1048576S\n7\x001\n', 0],
    ['5119 bytes', `1048576S\n${'1 0\n'.repeat(1276)}100 0\n`, 0],
    ['5120 bytes', `1048576S\n${'1 0\n'.repeat(1276)}1000 0\n`, 0],
  ];
  it('has the boundary cases the right size', () => {
    expect(cases.filter(([name]) => name.endsWith(' bytes')).map(([, c]) => c.length)).toEqual([5119, 5120]);
  });
  it.each(cases)('agrees with Dovecot on %s', async (_, content, ageMs) => {
    await writeFile(file(), content);
    await giveToDovecot(h, file());
    const mtime = new Date(Date.now() - ageMs);
    await utimes(file(), mtime, mtime);
    const ours = readMaildirsize(content, { configured: MB, mtimeMs: mtime.getTime(), nowMs: Date.now() });
    const out = await doveadmOk(h, ['quota', 'get']);
    const after = await readFile(file(), 'utf8');
    expect(after === content).toBe(ours.valid);
    if (ours.valid) {
      const messages = /MESSAGE\s+(\d+)/.exec(out)![1];
      expect(Number(messages)).toBe(ours.usage.count);
    } else {
      expect(after).toBe(formatMaildirsize(MB, await usageOnDisk()));
    }
  });

  it.each([
    ['storage=1M:messages=100', { bytes: 1048576, count: 100 }, '1048576S,100C'],
    ['messages=100', { bytes: 0, count: 100 }, '100C'],
    ['storage=0', { bytes: 0, count: 0 }, '0S'],
  ])('writes the limits line for quota_rule = *:%s', async (rule, limits, line) => {
    const other = await makeDovecotHome({ quotaRule: rule });
    try {
      await doveadmOk(other, ['save'], 'Subject: x\n\nbody\n');
      await doveadmOk(other, ['quota', 'recalc']);
      const text = await readFile(file(other), 'utf8');
      expect(formatLimits(limits)).toBe(line);
      expect(text).toBe(formatMaildirsize(limits, await usageOnDisk(other)));
      expect(readMaildirsize(text, { configured: limits, mtimeMs: Date.now(), nowMs: Date.now() })).toMatchObject({ valid: true, limits });
    } finally {
      await cleanup(other);
    }
  });
});
