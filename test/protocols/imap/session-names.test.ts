/**
 * Mailbox names that try to leave the user's Maildir or break its layout, sent by a client over
 * IMAP: each gets NO or BAD, and nothing appears on disk outside (or inside) the Maildir.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImapDaemon, type ImapDaemon } from '../../helpers/imap-daemon.js';
import { RawImap } from '../../helpers/imap-raw.js';
import { tempDir } from '../../helpers/tmp.js';

async function tree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      out.push(path.relative(root, p));
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk(root);
  // tsmail's own index/cache files come and go with folder state; they are not folders.
  return out.filter((f) => !/tsmail\.(index|cache)|dovecot-uidlist\.lock/.test(f)).sort();
}

describe('IMAP mailbox names that try to escape the Maildir', () => {
  let d: ImapDaemon;
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    d = await startImapDaemon(dir);
  }, 30_000);
  afterAll(async () => {
    await d?.stop();
    await cleanup?.();
  });

  it('refuses path tricks, wildcards, NUL, bad mUTF-7 and the separator games in every command that names a mailbox', async () => {
    const { client: c } = await RawImap.connect(d.imapPort);
    expect((await c.command('l', 'LOGIN alice@example.test alice-pw')).at(-1)).toMatch(/^l OK/);
    expect((await c.command('k', 'CREATE Kept')).at(-1)).toMatch(/^k OK/);
    const before = await tree(dir);

    const names = [
      '"../escape"', '"../../../../tmp/escape"', '"a/b"', '"/etc"', '".."', '"."', '"Kept/../../x"', '"Kept..x"', '".Kept"',
      '"x%"', '"y*"', '"&Jjo"', '"&AGE-"', '"&"', '{3}\r\na\0b', '""',
    ];
    const msg = 'Subject: x\r\n\r\nx\r\n';
    for (const [i, name] of names.entries()) {
      for (const [verb, rest] of [
        ['CREATE', ''], ['SELECT', ''], ['EXAMINE', ''], ['DELETE', ''], ['SUBSCRIBE', ''], ['STATUS', ' (MESSAGES)'],
        ['RENAME', ' Other'], ['APPEND', ` {${msg.length}+}\r\n${msg}`],
      ] as const) {
        const tag = `t${i}${verb}`;
        // A literal name needs its continuation first: send the command in one go (LITERAL+ is
        // not used for it, so the server answers `+ OK` or refuses before the rest).
        const text = name.startsWith('{') ? `${verb} {3+}\r\na\0b${rest}` : `${verb} ${name}${rest}`;
        const reply = (await c.command(tag, text)).at(-1)!;
        // The server hangs up after 20 BADs in a row (as Dovecot): a good command in between.
        await c.command(`n${tag}`, 'NOOP');
        // A subscription may name a mailbox that does not exist (RFC 9051 6.3.7), wildcards
        // included, as in Dovecot: it only adds a line to the subscriptions file.
        if (verb === 'SUBSCRIBE' && /^"[xy][%*]"$/.test(name)) continue;
        expect(reply, `${verb} ${JSON.stringify(name)}`).toMatch(new RegExp(`^${tag} (NO|BAD)`));
      }
      expect((await c.command(`r${i}`, `RENAME Kept ${name.startsWith('{') ? '"a\\0b"' : name}`)).at(-1), `RENAME Kept ${name}`).toMatch(new RegExp(`^r${i} (NO|BAD)`));
    }
    expect((await c.command('z', 'NOOP')).at(-1)).toMatch(/^z OK/);
    c.close();
    // Nothing was created, renamed or deleted, inside the Maildir or beside it.
    expect(await tree(dir)).toEqual(before);
  }, 60_000);
});
