/**
 * MySQL going away and coming back: lookups must fail with TempFailure (never "not found"),
 * within a bounded time, and the same backend object must work again once the server is back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TempFailure } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { MysqlBackend } from '../../src/directory/mysql/backend.js';
import type { MysqlOptions } from '../../src/directory/mysql/options.js';
import { mariadbSkipReason, startMariaDb, type MariaDb } from '../helpers/mariadb.js';
import { loadSchema, options } from './setup.js';

const CONNECT_TIMEOUT = 1_000;
const QUERY_TIMEOUT = 1_500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function expectTempFailure(what: string, run: () => Promise<unknown>, withinMs: number): Promise<TempFailure> {
  const started = Date.now();
  const outcome = await run().then(
    (value) => ({ value }),
    (err: unknown) => ({ err }),
  );
  const elapsed = Date.now() - started;
  expect('err' in outcome ? outcome.err : outcome, what).toBeInstanceOf(TempFailure);
  expect(elapsed, `${what} took ${elapsed} ms`).toBeLessThan(withinMs);
  return (outcome as { err: TempFailure }).err;
}

const skip = mariadbSkipReason();

describe.skipIf(skip !== null)('MySQL outages', () => {
  let server: MariaDb;
  const open: MysqlBackend[] = [];
  const make = (extra: Partial<MysqlOptions> = {}, preset: MysqlOptions['preset'] = 'platform', queries = {}) => {
    const b = new MysqlBackend(
      options(server, 'outage', preset, queries, { connectTimeoutMs: CONNECT_TIMEOUT, queryTimeoutMs: QUERY_TIMEOUT, ...extra }),
      silentLogger,
    );
    open.push(b);
    return b;
  };

  beforeAll(async () => {
    server = await startMariaDb();
    await loadSchema(server, 'platform', 'outage');
  });

  // A failed test must not leave the next one without a server.
  afterEach(async () => {
    server?.thaw();
    if (server && !server.running) await server.restart();
  });

  afterAll(async () => {
    for (const b of open) await b.close();
    await server?.destroy();
  });

  it('SIGKILLed server: every lookup is a quick TempFailure; after a restart the same object works', async () => {
    const b = make();
    expect(await b.isLocalDomain('shop.example')).toBe(true);
    expect(await b.findUser('ines@shop.example')).not.toBeNull();

    await server.kill();
    const bound = CONNECT_TIMEOUT + QUERY_TIMEOUT + 1_000;
    await expectTempFailure('isLocalDomain', () => b.isLocalDomain('shop.example'), bound);
    await expectTempFailure('mailboxExists', () => b.mailboxExists('ines@shop.example'), bound);
    await expectTempFailure('aliasTargets', () => b.aliasTargets('team@shop.example'), bound);
    await expectTempFailure('findUser', () => b.findUser('ines@shop.example'), bound);
    await expectTempFailure('listUsers', () => b.listUsers(), bound);
    await expectTempFailure('addDomain', () => b.addDomain('new.example'), bound);
    // Many callers at once while it is down.
    const burst = await Promise.allSettled(Array.from({ length: 20 }, () => b.mailboxExists('ines@shop.example')));
    expect(burst.every((r) => r.status === 'rejected' && r.reason instanceof TempFailure)).toBe(true);

    await server.restart();
    expect(await b.isLocalDomain('shop.example')).toBe(true);
    expect(await b.mailboxExists('ines@shop.example')).toBe(true);
    expect(await b.findUser('ines@shop.example')).toMatchObject({ user: 'ines@shop.example' });
  });

  it('server killed in the middle of a query: TempFailure, then recovery', async () => {
    const slow = make({ queryTimeoutMs: 10_000 }, 'custom', {
      domain: "SELECT 1 FROM mail_domains WHERE domain_name = '%s'",
      mailbox: "SELECT 1 FROM mail_mailboxes WHERE email = '%s' AND SLEEP(5) = 0",
      alias: "SELECT destination_email FROM mail_aliases WHERE alias_email = '%s'",
      password: "SELECT email AS user, password_hash AS password FROM mail_mailboxes WHERE email = '%u'",
    });
    expect(await slow.isLocalDomain('shop.example')).toBe(true);
    // Settle into a value at once, so the rejection is handled even while kill() is awaited.
    const pending = slow.mailboxExists('ines@shop.example').then(
      (value) => value,
      (err: unknown) => err,
    );
    await sleep(300);
    const killedAt = Date.now();
    await server.kill();
    const err = await pending;
    expect(err).toBeInstanceOf(TempFailure);
    expect(Date.now() - killedAt).toBeLessThan(3_000);
    // The lost connection is retried once on a new one, which the dead server refuses.
    expect((err as TempFailure).detail).toMatchObject({ code: expect.stringMatching(/^(PROTOCOL_CONNECTION_LOST|ECONNREFUSED|ECONNRESET)$/) });

    await server.restart();
    expect(await slow.isLocalDomain('shop.example')).toBe(true);
  });

  it('graceful restart while idle: the next lookups just work', async () => {
    const b = make();
    await Promise.all([b.isLocalDomain('shop.example'), b.findUser('ines@shop.example'), b.mailboxExists('jonas@shop.example')]);
    await server.stop();
    await server.restart();
    expect(await b.isLocalDomain('shop.example')).toBe(true);
    expect(await b.findUser('ines@shop.example')).not.toBeNull();
    expect(await b.mailboxExists('jonas@shop.example')).toBe(true);
  });

  it('hung server (SIGSTOP): TempFailure within the query/connect timeouts, then recovery', async () => {
    const b = make();
    expect(await b.isLocalDomain('shop.example')).toBe(true);
    await server.freeze();
    try {
      const bound = CONNECT_TIMEOUT + QUERY_TIMEOUT + 1_000;
      // Two at once: one reuses the idle pooled connection, the other has to connect.
      await Promise.all([
        expectTempFailure('query on a pooled connection', () => b.isLocalDomain('shop.example'), bound),
        expectTempFailure('query needing a new connection', () => b.findUser('ines@shop.example'), bound),
      ]);
    } finally {
      server.thaw();
    }
    expect(await b.isLocalDomain('shop.example')).toBe(true);
  });

  it('missing socket (ENOENT) and wrong password are TempFailure too', async () => {
    const noSocket = make({ socket: `${server.socket}.missing` });
    const err = await expectTempFailure('missing socket', () => noSocket.isLocalDomain('shop.example'), 2_000);
    expect(err.detail).toMatchObject({ code: 'ENOENT' });
    const badPassword = make({ password: 'wrong' });
    await expectTempFailure('wrong password', () => badPassword.findUser('ines@shop.example'), 2_000);
    const noDatabase = make({ database: 'no_such_db' });
    await expectTempFailure('unknown database', () => noDatabase.mailboxExists('ines@shop.example'), 2_000);
  });

  it('close() ends the pool; later calls fail as TempFailure', async () => {
    const b = make();
    expect(await b.isLocalDomain('shop.example')).toBe(true);
    await b.close();
    await b.close();
    await expectTempFailure('after close', () => b.isLocalDomain('shop.example'), 500);
  });
});
