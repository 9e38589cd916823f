import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImapDaemon, type ImapDaemon } from '../../helpers/imap-daemon.js';
import { RawImap } from '../../helpers/imap-raw.js';
import { tempDir } from '../../helpers/tmp.js';

describe('IMAP session over raw sockets (exact text)', () => {
  let d: ImapDaemon;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    d = await startImapDaemon(t.dir);
  }, 30_000);
  afterAll(async () => {
    await d?.stop();
    await cleanup?.();
  });

  const login = async () => {
    const { client } = await RawImap.connect(d.imapPort);
    const r = await client.command('L', 'LOGIN alice@example.test alice-pw');
    expect(r.at(-1)).toMatch(/^L OK \[CAPABILITY IMAP4rev1 .*\] Logged in$/);
    return client;
  };

  it('greets with its capabilities and answers CAPABILITY, NOOP, LOGOUT', async () => {
    const { client, greeting } = await RawImap.connect(d.imapPort);
    expect(greeting).toMatch(/^\* OK \[CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR LITERAL\+ ID ENABLE IDLE STARTTLS AUTH=PLAIN AUTH=LOGIN\] mx\.example\.test tsmail ready\.$/);
    expect(await client.command('a', 'CAPABILITY')).toEqual([
      '* CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE STARTTLS AUTH=PLAIN AUTH=LOGIN',
      'a OK Capability completed.',
    ]);
    expect(await client.command('b', 'NOOP')).toEqual(['b OK NOOP completed.']);
    expect(await client.command('c', 'LOGOUT')).toEqual(['* BYE Logging out', 'c OK Logout completed.']);
    expect(await client.waitClosed(5000)).toBe(true);
  });

  it('refuses commands in the wrong state with BAD and unknown ones too', async () => {
    const { client } = await RawImap.connect(d.imapPort);
    expect(await client.command('a', 'SELECT INBOX')).toEqual(['a BAD Command not allowed before login.']);
    expect(await client.command('b', 'FROBNICATE')).toEqual([expect.stringMatching(/^b BAD /)]);
    const r = await client.command('c', 'LOGIN alice@example.test alice-pw');
    expect(r.at(-1)).toMatch(/^c OK/);
    expect(await client.command('d', 'FETCH 1 FLAGS')).toEqual(['d BAD No mailbox selected.']);
    expect(await client.command('e', 'LOGIN alice@example.test alice-pw')).toEqual(['e BAD Command not allowed in this state.']);
    client.close();
  });

  it('selects INBOX with the responses Dovecot gives', async () => {
    const client = await login();
    const r = await client.command('s', 'SELECT INBOX');
    expect(r[0]).toBe('* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)');
    expect(r[1]).toBe('* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted.');
    expect(r).toContain('* 0 EXISTS');
    expect(r).toContain('* 0 RECENT');
    expect(r.some((l) => /^\* OK \[UIDVALIDITY \d+\] UIDs valid$/.test(l))).toBe(true);
    expect(r).toContain('* OK [UIDNEXT 1] Predicted next UID');
    expect(r.at(-1)).toBe('s OK [READ-WRITE] Select completed.');
    client.close();
  });

  it('takes a password as a synchronizing literal after + OK', async () => {
    const { client } = await RawImap.connect(d.imapPort);
    client.send('a LOGIN "alice@example.test" {8}\r\n');
    expect(await client.line()).toBe('+ OK');
    client.send('alice-pw\r\n');
    expect(await client.line()).toMatch(/^a OK \[CAPABILITY .*\] Logged in$/);
    client.close();
  });

  it('answers 10,000 pipelined NOOPs in order', async () => {
    const client = await login();
    const n = 10_000;
    let batch = '';
    for (let i = 0; i < n; i++) batch += `n${i} NOOP\r\n`;
    client.send(batch);
    for (let i = 0; i < n; i++) expect(await client.line()).toBe(`n${i} OK NOOP completed.`);
    client.close();
  });
});
