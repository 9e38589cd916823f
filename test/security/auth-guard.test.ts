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
    // Dovecot's auth_failure_delay (2 s) for the first, then doubling
    expect(delays.slice(0, 4)).toEqual([2000, 4000, 8000, 15_000]);
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

  it('keeps counting through a ban: failing right after it expires bans again at once', () => {
    // a one-minute ban inside a ten-minute window
    const g2 = new AuthGuard({ maxFailures: 5, windowMs: 600_000, banMs: 60_000, ignore: new NetworkList([]), now: () => clock.t });
    for (let i = 0; i < 5; i++) g2.failure('203.0.113.21', `u${i}`);
    clock.t += 60_001;
    expect(g2.isBanned('203.0.113.21')).toBe(false);
    const delay = g2.failure('203.0.113.21', 'u9');
    expect(g2.isBanned('203.0.113.21')).toBe(true);
    expect(delay).toBe(15_000); // the sixth failure: the delay did not restart either
  });

  it("tells an IP's open sessions when it gets banned, once, and forgets closed ones", () => {
    const g = new AuthGuard({ maxFailures: 3, windowMs: 600_000, banMs: 60_000, ignore: new NetworkList([]), now: () => clock.t });
    const told: string[] = [];
    const a = g.watch('198.51.100.7', () => told.push('a'));
    const b = g.watch('198.51.100.7', () => told.push('b'));
    g.watch('198.51.100.8', () => told.push('other ip'));
    b.close();
    for (let i = 0; i < 5; i++) g.failure('198.51.100.7', 'x');
    expect(told).toEqual(['a']);
    a.close();
    expect(g.size.watchedIps).toBe(1);
  });

  it('sweeps expired bans and counts, so a flood of addresses does not stay in memory', () => {
    const g = new AuthGuard({ maxFailures: 1, windowMs: 10_000, banMs: 20_000, ignore: new NetworkList([]), now: () => clock.t });
    for (let i = 0; i < 500; i++) g.failure(`10.1.${i >> 8}.${i & 255}`, `user${i}`);
    expect(g.size).toMatchObject({ ips: 500, accounts: 500, bans: 500 });
    clock.t += 20_001;
    g.failure('10.9.9.9', 'last');
    expect(g.size).toMatchObject({ ips: 1, accounts: 1, bans: 1 });
  });

  it('keeps a bounded number of keys', () => {
    const w = new RateWindow(60_000, () => clock.t, 100);
    for (let i = 0; i < 1000; i++) w.hit(`10.0.${i >> 8}.${i & 255}`);
    expect(w.count('10.0.0.0')).toBe(0);
    expect(w.count('10.0.3.231')).toBe(1);
  });
});
