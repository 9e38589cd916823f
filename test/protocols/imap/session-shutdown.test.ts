import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImapDaemon, type ImapDaemon } from '../../helpers/imap-daemon.js';
import { RawImap } from '../../helpers/imap-raw.js';
import { tempDir } from '../../helpers/tmp.js';

describe('IMAP at shutdown', () => {
  let d: ImapDaemon;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    // A long grace period: the sessions must not be what keeps the process alive.
    d = await startImapDaemon(t.dir, { daemon: { shutdown_timeout: 600 } });
  }, 30_000);
  afterAll(async () => {
    if (d?.running.proc.exitCode === null) d.running.kill('SIGKILL');
    await cleanup?.();
  });

  it('says BYE to idle and IDLE sessions and exits without waiting out the grace period', async () => {
    const { client: waiting } = await RawImap.connect(d.imapPort);
    const { client: idling } = await RawImap.connect(d.imapsPort, true);
    await idling.command('l', 'LOGIN alice@example.test alice-pw');
    await idling.command('s', 'SELECT INBOX');
    idling.send('i IDLE\r\n');
    expect(await idling.line()).toBe('+ idling');
    d.running.kill('SIGTERM');
    expect(await d.running.exited).toBe(0);
    expect(await waiting.line()).toBe('* BYE Server shutting down.');
    expect(await idling.line()).toBe('* BYE Server shutting down.');
  }, 30_000);
});
