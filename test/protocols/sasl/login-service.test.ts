/**
 * The failure delay hides how long the password check took: a known user whose hash is slow to
 * check and an unknown user answered at once fail at the same moment, counted from the attempt's
 * start (Dovecot flushes failures every auth_failure_delay to the same effect).
 */
import { describe, expect, it } from 'vitest';
import { NetworkList } from '../../../src/core/cidr.js';
import type { MailUser } from '../../../src/directory/types.js';
import { LoginService } from '../../../src/protocols/sasl/login-service.js';
import { AuthGuard } from '../../../src/security/auth-guard.js';
import { silentLogger } from '../../../src/core/logger.js';

const DELAY = 2000;
const SLOW_CHECK = 300;

function service(slept: number[]): LoginService {
  const guard = new AuthGuard({ maxFailures: 100, windowMs: 60_000, banMs: 60_000, ignore: new NetworkList([]), failureDelayMs: DELAY, maxDelayMs: DELAY });
  const directory = {
    // The known user's hash takes SLOW_CHECK ms to check; an unknown user fails at once.
    authenticate: async (user: string): Promise<MailUser | null> => {
      if (user === 'known@example.test') await new Promise((r) => setTimeout(r, SLOW_CHECK));
      return null;
    },
  };
  return new LoginService({ guard, directory, log: silentLogger, sleep: async (ms) => void slept.push(ms) });
}

const attempt = (username: string) => ({ kind: 'credentials' as const, credentials: { mechanism: 'PLAIN', authzid: '', username, password: Buffer.from('wrong') } });

describe('LoginService failure delay', () => {
  it('counts from the start of the attempt, so a slow check waits less after it', async () => {
    const slept: number[] = [];
    const login = service(slept);
    const known = await login.open('192.0.2.1', () => {}).attempt(attempt('known@example.test'));
    const unknown = await login.open('192.0.2.2', () => {}).attempt(attempt('nobody@example.test'));
    expect(known.kind).toBe('failed');
    expect(unknown.kind).toBe('failed');
    // The slow check's SLOW_CHECK ms were taken off its wait; the instant one waits (nearly) all.
    expect(slept[0]).toBeLessThanOrEqual(DELAY - SLOW_CHECK);
    expect(slept[1]).toBeGreaterThan(DELAY - SLOW_CHECK);
  });
});
