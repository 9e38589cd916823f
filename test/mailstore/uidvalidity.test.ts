import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { nextUidValidity } from '../../src/mailstore/maildir/uidvalidity.js';
import { tempDir } from '../helpers/tmp.js';

describe('UIDVALIDITY counter (dovecot-uidvalidity)', () => {
  it('hands out max(now, last + 1), in Dovecot\'s file format', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      expect(await nextUidValidity(dir, 1_700_000_000)).toBe(1_700_000_000);
      expect(await nextUidValidity(dir, 1_700_000_000)).toBe(1_700_000_001);
      expect(await nextUidValidity(dir, 1_600_000_000)).toBe(1_700_000_002); // clock went back
      expect(await readFile(`${dir}/dovecot-uidvalidity`, 'utf8')).toBe((1_700_000_002).toString(16));
      expect((await readdir(dir)).sort()).toEqual(['dovecot-uidvalidity', `dovecot-uidvalidity.${(1_700_000_002).toString(16)}`]);
    } finally {
      await cleanup();
    }
  });

  it('never gives the same value twice, even to concurrent callers', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const values = await Promise.all(Array.from({ length: 20 }, () => nextUidValidity(dir, 1_700_000_000)));
      expect(new Set(values).size).toBe(20);
    } finally {
      await cleanup();
    }
  });
});
