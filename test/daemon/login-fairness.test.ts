/**
 * One client's flood of expensive logins must not hold up another client's login: the crypt
 * worker pool serves clients in turn (crypt/pool.ts). Against the real daemon on 465: an attacker
 * at 127.0.0.20 opens 16 connections and sends, on each, a 500-byte wrong password for an account
 * whose SHA512-CRYPT hash has 40 000 rounds (each check costs a worker tens of milliseconds);
 * then a user at 127.0.0.21 logs in. Served first come first served, the user's check would wait
 * behind all 16; served in turn, it waits for the checks already running (one per worker).
 * The test asserts the order of the answers, not their timing. No failure delay and no ban here
 * (`auth_failure_delay = 0`, a high `auth_max_failures`), so each answer leaves as soon as its
 * check is done.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cryptSync } from '../../src/directory/schemes/crypt/crypt.js';
import { SmtpClient, type SmtpDaemon, startSmtpDaemon } from '../helpers/smtp-daemon.js';
import { tempDir } from '../helpers/tmp.js';

const ATTACKERS = 16;

function plain(user: string, password: string): string {
  return Buffer.from(`\0${user}\0${password}`).toString('base64');
}

describe('crypt pool fairness (real daemon, 465)', () => {
  let cleanup: () => Promise<void>;
  let daemon: SmtpDaemon;
  const open: SmtpClient[] = [];

  beforeAll(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    const users = [
      `victim@example.test:{SHA512-CRYPT}${cryptSync('$6$rounds=40000$victimsalt01234$', 'victim-pw')}:::::`,
      `user@example.test:{SHA512-CRYPT}${cryptSync('$6$usersalt0123456$', 'user-pw')}:::::`,
    ].join('\n') + '\n';
    daemon = await startSmtpDaemon(dir, users, {
      security: { ignoreip: [], auth_max_failures: 1000, auth_failure_delay: 0 },
      // no verify cache: every check is computed
      directory: { auth_cache_ttl: 0 },
      // An attacker with more connections than the per-IP limit (10) allows: the limit is another
      // test's subject; this one is about the crypt pool.
      smtp: { client_connection_count_limit: 50 },
    });
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await daemon?.stop();
    await cleanup?.();
  });

  it("answers another client's login before the attacker's queued checks", async () => {
    const connect = async (ip: string) => {
      const c = await SmtpClient.connectTls(daemon.ports.submissions, ip);
      open.push(c);
      expect((await c.command('EHLO laptop.example.test')).slice(0, 3)).toBe('250');
      return c;
    };
    const attackers = await Promise.all(Array.from({ length: ATTACKERS }, () => connect('127.0.0.20')));
    const user = await connect('127.0.0.21');
    const order: string[] = [];
    const answered = attackers.map((c, i) => {
      const reply = c.command(`AUTH PLAIN ${plain('victim@example.test', `${String(i).padStart(3, '0')}${'z'.repeat(497)}`)}`);
      return reply.then((r) => {
        order.push(`attacker:${r.slice(0, 3)}`);
      });
    });
    // The first answer means the checks are being computed, and all 16 were read long before.
    await Promise.race(answered);
    const mine = user.command(`AUTH PLAIN ${plain('user@example.test', 'user-pw')}`).then((r) => {
      order.push(`user:${r.slice(0, 3)}`);
    });
    await Promise.all([...answered, mine]);
    expect(order).toHaveLength(ATTACKERS + 1);
    expect(order.filter((o) => o.startsWith('attacker')).every((o) => o === 'attacker:535')).toBe(true);
    const position = order.indexOf('user:235');
    expect(position).toBeGreaterThan(0);
    // First come first served would put it last; in turn it follows the checks already running
    // (one per worker: up to 4) and at most one more of the attacker's.
    expect(position).toBeLessThanOrEqual(ATTACKERS / 2);
  });
});
