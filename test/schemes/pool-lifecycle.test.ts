import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { cryptSync } from '../../src/directory/schemes/crypt/crypt.js';
import { CryptWorkerPool } from '../../src/directory/schemes/crypt/pool.js';

/**
 * When the crypt workers exist: each is a V8 isolate (~10 MB), so none before the first login,
 * and an idle one goes away (crypt/pool.ts). Waits are "until it happens, or fail after a bound":
 * nothing here depends on how fast the machine is, except that a stall of several seconds on
 * the main thread between two back-to-back tasks would count as idleness.
 */

/** Polls `cond` until true; fails after `boundMs` naming `what`. */
async function eventually(what: string, cond: () => boolean, boundMs = 20_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`not within ${boundMs} ms: ${what}`);
    await sleep(10);
  }
}

describe('crypt worker pool: lazy start and idle exit', () => {
  it('starts no thread before the first task, then only as many as are needed at once', async () => {
    const pool = new CryptWorkerPool(3);
    try {
      expect(pool.threads).toBe(0);
      expect(pool.started).toBe(0);
      for (let i = 0; i < 5; i++) expect(await pool.run('$6$lazy', `pw${i}`)).toBe(cryptSync('$6$lazy', `pw${i}`));
      // One at a time: the idle worker is reused, never a second one started.
      expect(pool.threads).toBe(1);
      expect(pool.started).toBe(1);
      await Promise.all([1, 2, 3, 4, 5, 6].map((i) => pool.run('$6$lazy', `x${i}`)));
      expect(pool.threads).toBe(3);
      expect(pool.started).toBe(3);
    } finally {
      await pool.close();
    }
  });

  it('lets an idle worker exit after idleMs, and starts a fresh one for the next task', async () => {
    const pool = new CryptWorkerPool(2, { idleMs: 50 });
    try {
      await Promise.all([pool.run('$6$idle', 'a'), pool.run('$6$idle', 'b')]);
      expect(pool.started).toBe(2);
      await eventually('both idle workers exit', () => pool.threads === 0);
      expect(await pool.run('$6$idle', 'c')).toBe(cryptSync('$6$idle', 'c'));
      expect(pool.threads).toBe(1);
      expect(pool.started).toBe(3);
    } finally {
      await pool.close();
    }
  });

  it('never retires a worker in the middle of a task longer than idleMs', async () => {
    const pool = new CryptWorkerPool(1, { idleMs: 1 });
    try {
      // Tens of milliseconds of work at least, against an idle limit of 1 ms.
      const setting = '$6$rounds=200000$slow';
      const pending = pool.run(setting, 'pw');
      await sleep(20);
      expect(pool.threads).toBe(1);
      expect(await pending).toBe(cryptSync(setting, 'pw'));
      expect(pool.started).toBe(1);
      await eventually('the worker exits once idle', () => pool.threads === 0);
    } finally {
      await pool.close();
    }
  });

  it('under light load keeps working on one thread while the others age out', async () => {
    const pool = new CryptWorkerPool(3, { idleMs: 2_000 });
    try {
      await Promise.all([1, 2, 3].map((i) => pool.run('$6$light', `w${i}`)));
      expect(pool.threads).toBe(3);
      // Back-to-back single logins: the most recently used worker takes each one, so it never
      // sits idle while the two others do and exit.
      let n = 0;
      const deadline = Date.now() + 30_000;
      while (pool.threads > 1 && Date.now() < deadline) {
        expect(await pool.run('$6$light', `seq${n}`)).toBe(cryptSync('$6$light', `seq${n}`));
        n++;
      }
      expect(n).toBeGreaterThan(0);
      expect(pool.threads).toBe(1);
      expect(pool.started).toBe(3);
    } finally {
      await pool.close();
    }
  });

  it('a task queued while a worker is retiring goes to a live one', async () => {
    const pool = new CryptWorkerPool(1, { idleMs: 5 });
    try {
      // Tasks arriving around the moment the idle timer fires, several times over: each must be
      // answered by a worker that is still in the pool (never one being terminated).
      for (let i = 0; i < 6; i++) {
        expect(await pool.run('$6$race', `r${i}`)).toBe(cryptSync('$6$race', `r${i}`));
        await sleep(3 * (i % 4));
      }
      expect(pool.threads).toBeLessThanOrEqual(1);
    } finally {
      await pool.close();
    }
  });

  it('close() also ends workers waiting for their idle exit, and the pool refuses work after it', async () => {
    const pool = new CryptWorkerPool(2, { idleMs: 60_000 });
    await Promise.all([pool.run('$6$close', 'a'), pool.run('$6$close', 'b')]);
    expect(pool.threads).toBe(2);
    await pool.close();
    expect(pool.threads).toBe(0);
    await expect(pool.run('$6$close', 'c')).rejects.toThrow(/closed/);
  });

  it('rejects a negative idleMs', () => {
    expect(() => new CryptWorkerPool(1, { idleMs: -1 })).toThrow(RangeError);
  });
});
