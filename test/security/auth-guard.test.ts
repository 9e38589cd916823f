import { describe, expect, it } from 'vitest';
import { NetworkList } from '../../src/core/cidr.js';
import { AuthGuard } from '../../src/security/auth-guard.js';
import { RateWindow } from '../../src/security/rate-window.js';

describe('failed-login protection (fail2ban built in)', () => {
  const clock = { t: 1_000_000 };
  const guard = () => new AuthGuard({ maxFailures: 5, windowMs: 600_000, banMs: 3_600_000, ignore: new NetworkList(['127.0.0.0/8']), now: () => clock.t });

  it('bans an IP after 5 failures in 10 minutes, for an hour', () => {
    const g = guard();
    const delays = [1, 2, 3, 4, 5].map(() => g.failure('203.0.113.9', 'alice@example.test'));
    expect(delays[0]).toBe(0);
    expect(delays[4]).toBeGreaterThan(delays[1]!);
    expect(g.isBanned('203.0.113.9')).toBe(true);
    expect(g.isBanned('203.0.113.10')).toBe(false);
    clock.t += 3_600_001;
    expect(g.isBanned('203.0.113.9')).toBe(false);
  });

  it('forgets failures older than the window', () => {
    const g = guard();
    for (let i = 0; i < 4; i++) g.failure('198.51.100.1', 'x');
    clock.t += 600_001;
    g.failure('198.51.100.1', 'x');
    expect(g.isBanned('198.51.100.1')).toBe(false);
  });

  it('never bans ignored networks, but still slows their failures down', () => {
    const g = guard();
    const delays = Array.from({ length: 8 }, () => g.failure('127.0.0.1', 'bob@example.test'));
    expect(g.isBanned('127.0.0.1')).toBe(false);
    expect(delays.at(-1)).toBeGreaterThan(0);
  });

  it('slows down an account attacked from many IPs without banning them or locking it', () => {
    const g = guard();
    const delays = Array.from({ length: 6 }, (_, i) => g.failure(`192.0.2.${i}`, 'carol@example.test'));
    expect(delays.at(-1)).toBeGreaterThan(0);
    for (let i = 0; i < 6; i++) expect(g.isBanned(`192.0.2.${i}`)).toBe(false);
  });

  it('keeps a bounded number of keys', () => {
    const w = new RateWindow(60_000, () => clock.t, 100);
    for (let i = 0; i < 1000; i++) w.hit(`10.0.${i >> 8}.${i & 255}`);
    expect(w.count('10.0.0.0')).toBe(0);
    expect(w.count('10.0.3.231')).toBe(1);
  });
});
