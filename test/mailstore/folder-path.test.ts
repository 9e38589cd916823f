import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInput } from '../../src/core/errors.js';
import {
  dirNameToImapName,
  imapNameToDir,
  isInbox,
  normalizeMailboxName,
  parentNames,
  validateMailboxName,
} from '../../src/mailstore/maildir/folder-path.js';
import { encodeMutf7 } from '../../src/mailstore/maildir/mutf7.js';
import { expectInvalid } from '../helpers/expect.js';

/*
 * Ground truth from Dovecot 2.3.19.1 (Debian 12 dovecot-core): each name was created with
 * `doveadm -c <conf> mailbox create NAME` (run as nobody via setpriv) on an empty Maildir with
 *   mail_location = maildir:<dir>/mail
 *   namespace inbox { inbox = yes; separator = . }
 * and the new directory entry recorded. Where doveadm is on PATH the live tests below redo it.
 */

/** [IMAP name, the directory entry Dovecot created under the Maildir root] */
const DOVEADM_DIRS: readonly (readonly [string, string])[] = [
  ['Sent', '.Sent'],
  ['Drafts', '.Drafts'],
  ['Archive.2024', '.Archive.2024'],
  ['Archive.2024.Q1', '.Archive.2024.Q1'],
  ['Entwürfe', '.Entw&APw-rfe'],
  ['Gelöschte Elemente', '.Gel&APY-schte Elemente'],
  ['Archiv.Entwürfe.2024', '.Archiv.Entw&APw-rfe.2024'],
  ['日本語', '.&ZeVnLIqe-'],
  ['中文.子文件夹', '.&Ti1lhw-.&W1Blh072WTk-'],
  ['Привет', '.&BB8EQAQ4BDIENQRC-'],
  ['😀', '.&2D3eAA-'],
  ['👍🏽 Family', '.&2D3cTdg83,0- Family'],
  ['𝄞 Music', '.&2DTdHg- Music'],
  ['a&b', '.a&-b'],
  ['&', '.&-'],
  ['ä&ö', '.&AOQ-&-&APY-'],
  ['&AOQ-', '.&-AOQ-'], // a literal name that looks encoded
  ['Space name', '.Space name'],
  [' lead space', '. lead space'],
  ['trail space ', '.trail space '],
  // INBOX children are ordinary Maildir++ folders, and the INBOX prefix is upper-cased
  // (mail-storage.c mailbox_alloc), so "inbox.lower" lands in .INBOX.lower.
  ['INBOX.child', '.INBOX.child'],
  ['inbox.lower', '.INBOX.lower'],
  ['iNbOx.Foo.Bar', '.INBOX.Foo.Bar'],
  ['InboxFoo', '.InboxFoo'],
  ['INBOXX', '.INBOXX'],
  ['x.INBOX', '.x.INBOX'],
  ['a~', '.a~'], // only a leading "~" is refused
  ['a.~b', '.a.~b'],
  ['cur', '.cur'], // Maildir's own subdirectory names are harmless behind the "."
  ['new', '.new'],
  ['tmp', '.tmp'],
  ['x.cur', '.x.cur'],
  ['[Gmail].Sent Mail', '.[Gmail].Sent Mail'],
  ['st*r', '.st*r'], // LIST wildcards are legal name characters (RFC 9051 5.1)
  ['pc%t', '.pc%t'],
  ['q"uote', '.q"uote'],
  ['e\u0301', '.e&AwE-'], // NFD and NFC are two different folders: no normalization
  ['\u00E9', '.&AOk-'],
  ['a'.repeat(254), `.${'a'.repeat(254)}`], // 255 bytes: the longest directory name
  ['ä'.repeat(94), `.&${'AOQA5ADk'.repeat(31)}AOQ-`], // 254 bytes
  ['😀'.repeat(47), `.&${'2D3eANg93gDYPd4A'.repeat(15)}2D3eANg93gA-`], // 254 bytes
];

/** Names that are the Maildir root itself; Dovecot: "Mailbox already exists". */
const INBOX_NAMES = ['INBOX', 'inbox', 'Inbox', 'iNbOx'];

/** [name, Dovecot's error]: both refuse these. */
const DOVEADM_REJECTED: readonly (readonly [string, string])[] = [
  ['', 'Invalid mailbox name: Name is empty'],
  ['.lead', 'Invalid mailbox name: Begins with hierarchy separator'],
  ['a..b', 'Invalid mailbox name: Has adjacent hierarchy separators'],
  ['..', 'Invalid mailbox name: Begins with hierarchy separator'],
  ['.', 'Invalid mailbox name: Name is empty'],
  ['x/y', "Invalid mailbox name: Name must not have '/' characters"],
  ['/abs', "Invalid mailbox name: Name must not have '/' characters"],
  ['~tilde', "Invalid mailbox name: Begins with '~'"],
  ['~', "Invalid mailbox name: Begins with '~'"],
  ['ctl\u0001', 'Control characters not allowed in new mailbox names'],
  ['tab\tx', 'Control characters not allowed in new mailbox names'],
  ['a'.repeat(256), 'Mailbox name too long'],
  ['ä'.repeat(95), 'Mailbox name too long'], // 254 characters of mUTF-7 + "&-"
  ['😀'.repeat(48), 'Mailbox name too long'],
];

/** [name, what Dovecot did]: tsmail refuses these although Dovecot does not. */
const STRICTER_THAN_DOVEADM: readonly (readonly [string, { dir: string } | { error: string }])[] = [
  // Dovecot's CREATE drops one trailing separator (RFC 9051 6.3.4); the IMAP command does that,
  // not the storage layer.
  ['trail.', { dir: '.trail' }],
  ['a\\b', { dir: '.a\\b' }],
  ['del\u007Fx', { dir: '.del&AH8-x' }], // Dovecot refuses only bytes < 0x20
  ['c1\u0085x', { dir: '.c1&AIU-x' }],
  // Dovecot's own checks pass, then mkdir fails with ENAMETOOLONG, reported as "Not found".
  ['a'.repeat(255), { error: 'Not found' }],
  [`${'b'.repeat(100)}.${'b'.repeat(100)}.${'b'.repeat(100)}`, { error: 'Not found' }],
];

/** [directory entry, how `doveadm mailbox list` shows it]: tsmail does not list these (null). */
const DOVEADM_LISTS_ANYWAY: readonly (readonly [string, string])[] = [
  ['.bad&name', 'bad&name'], // invalid mUTF-7: listed raw
  ['.&ACA-', '&ACA-'],
  ['.&AOQ-&APY-', '&AOQ-&APY-'],
  ['.&AOR-', 'ä'], // lax decoding; "ä" maps back to .&AOQ-
  ['.inbox.x', 'INBOX.x'], // but INBOX.x maps to .INBOX.x
  ['.a..b', 'a..b'],
  ['.x.', 'x.'],
  ['.~home', '~home'],
];

const ROOT = path.resolve('/srv/mail/example.org/alice');

/** The result of imapNameToDir is the root or exactly one entry directly in it. */
function expectInsideRoot(dir: string): void {
  const rel = path.relative(ROOT, dir);
  if (rel === '') return;
  expect(rel.startsWith('.') && !rel.includes(path.sep) && rel !== '..' && !path.isAbsolute(rel), rel).toBe(true);
  expect(path.dirname(dir)).toBe(ROOT);
}

describe('IMAP name → Maildir++ directory (doveadm table)', () => {
  it('maps each name to the directory Dovecot created', () => {
    for (const [name, entry] of DOVEADM_DIRS) {
      expect(imapNameToDir(ROOT, name), JSON.stringify(name)).toBe(path.join(ROOT, entry));
      expect(Buffer.byteLength(entry)).toBeLessThanOrEqual(255);
    }
  });

  it('maps every spelling of INBOX to the Maildir root', () => {
    for (const name of INBOX_NAMES) {
      expect(imapNameToDir(ROOT, name)).toBe(ROOT);
      expect(imapNameToDir(`${ROOT}/`, name)).toBe(ROOT);
    }
  });

  it('refuses what Dovecot refuses', () => {
    for (const [name] of DOVEADM_REJECTED) {
      expect(() => imapNameToDir(ROOT, name), JSON.stringify(name)).toThrow(InvalidInput);
    }
    expect(expectInvalid(() => validateMailboxName('a..b')).message).toBe('Invalid mailbox name: Has adjacent hierarchy separators');
    expect(expectInvalid(() => validateMailboxName('.lead')).message).toBe('Invalid mailbox name: Begins with hierarchy separator');
    expect(expectInvalid(() => validateMailboxName('~x')).message).toBe("Invalid mailbox name: Begins with '~'");
    expect(expectInvalid(() => validateMailboxName('')).message).toBe('Invalid mailbox name: Name is empty');
  });

  it('refuses more than Dovecot where that protects the filesystem', () => {
    for (const [name] of STRICTER_THAN_DOVEADM) {
      expect(() => imapNameToDir(ROOT, name), JSON.stringify(name)).toThrow(InvalidInput);
    }
  });
});

describe('bad names from the design: InvalidInput, never a path outside the root', () => {
  const BAD = [
    '..', '../..', '../etc', 'a/../../b', '/etc/passwd', 'a/b', '..\\..\\x', 'a\\b',
    '\u0000', 'a\u0000b', '\u0000/../x', 'x\n', 'x\r\ny', '\u001b[31m', '\u007f', '\u0085',
    '.', '.a', '.hidden', 'a.', 'a..b', 'a...b', 'a.b.', '.a.b', '..a', 'INBOX..x', 'INBOX.', 'inbox.',
    '~', '~root', '~/x', '~.x',
    'x\uD800', '\uDC00y', 'a\uD83D.b', // lone surrogates: no UTF-8 form
    'a'.repeat(255), `${'a'.repeat(200)}.${'b'.repeat(60)}`, 'x'.repeat(5000), 'ä'.repeat(95), '日'.repeat(200),
  ];

  it('throws InvalidInput with a reason for each', () => {
    for (const name of BAD) {
      const err = expectInvalid(() => imapNameToDir(ROOT, name));
      expect(err.message, JSON.stringify(name)).toMatch(/^Invalid mailbox name: \S/);
      expect(() => validateMailboxName(name)).toThrow(InvalidInput);
    }
  });

  it('survives 20000 random hostile names', () => {
    let seed = 0x5eed;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const ATOMS = ['.', '..', '/', '\\', '\u0000', '~', '&', '-', 'a', 'Z', 'ä', '日', '😀', '\uD800', '\uDFFF', ' ', '\n', 'INBOX', 'inbox', '&AOQ-', '%', '*', '\u007f'];
    let accepted = 0;
    for (let i = 0; i < 20000; i++) {
      let name = '';
      const n = Math.floor(rnd() * 8);
      for (let j = 0; j < n; j++) name += ATOMS[Math.floor(rnd() * ATOMS.length)];
      let dir: string;
      try {
        dir = imapNameToDir(ROOT, name);
      } catch (err) {
        if (!(err instanceof InvalidInput)) throw err;
        continue;
      }
      accepted++;
      expectInsideRoot(dir);
      const norm = normalizeMailboxName(name);
      // Round trip: the directory entry names the same (normalized) mailbox.
      if (dir === ROOT) expect(norm).toBe('INBOX');
      else expect(dirNameToImapName(path.basename(dir))).toBe(norm);
    }
    expect(accepted).toBeGreaterThan(2000);
  });
});

describe('directory entry → IMAP name', () => {
  it('inverts the doveadm table', () => {
    for (const [name, entry] of DOVEADM_DIRS) expect(dirNameToImapName(entry)).toBe(normalizeMailboxName(name));
  });

  it('skips entries that are not folders tsmail can open', () => {
    const notFolders = [
      'cur', 'new', 'tmp', 'dovecot-uidlist', 'subscriptions', 'maildirsize', '', '.', '..',
      '.INBOX', '.Inbox', '.inbox', '.inbox.x', '.Inbox.Sent', // INBOX's spelling maps elsewhere
      '.rawä', '.\u00e4', // raw UTF-8 on disk is not mUTF-7
      '.a/b', '.a\\b', '.&AH8-', '.&AIU-', '.&AAk-', // refused characters, even when encoded
      '.~home', '.a..b', '.x.', '..x', '.a.',
      `.${'a'.repeat(255)}`,
      ...DOVEADM_LISTS_ANYWAY.map(([entry]) => entry),
    ];
    for (const entry of notFolders) expect(dirNameToImapName(entry), JSON.stringify(entry)).toBeNull();
  });

  it('round-trips random Unicode names', () => {
    const pool = ['a', 'Z', ' ', '&', '-', '~', 'ä', 'ß', 'É', '日', '本', 'Я', '😀', '👨‍👩‍👧', '🇩🇪', '𝄞', '%', '*', '"', '[', ']'];
    let seed = 7;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let i = 0; i < 5000; i++) {
      const parts: string[] = [];
      const levels = 1 + Math.floor(rnd() * 3);
      for (let l = 0; l < levels; l++) {
        let p = '';
        const n = 1 + Math.floor(rnd() * 6);
        for (let j = 0; j < n; j++) p += pool[Math.floor(rnd() * pool.length)];
        parts.push(p);
      }
      const name = parts.join('.');
      if (name.startsWith('~')) continue;
      if (1 + encodeMutf7(name).length > 255) {
        expect(expectInvalid(() => imapNameToDir(ROOT, name)).message).toMatch(/too long/);
        continue;
      }
      const dir = imapNameToDir(ROOT, name);
      expectInsideRoot(dir);
      expect(dirNameToImapName(path.basename(dir))).toBe(name);
    }
  });
});

describe('INBOX and hierarchy helpers', () => {
  it('treats INBOX case-insensitively in ASCII only', () => {
    for (const n of INBOX_NAMES) expect(isInbox(n)).toBe(true);
    for (const n of ['INBOXX', 'INBO', 'inbox.', 'INBOX.x', ' INBOX', '\u0131nbox', 'ınbox', 'İNBOX']) expect(isInbox(n), n).toBe(false);
  });

  it('upper-cases INBOX and an INBOX prefix only', () => {
    expect(normalizeMailboxName('inbox')).toBe('INBOX');
    expect(normalizeMailboxName('Inbox.Sent.2024')).toBe('INBOX.Sent.2024');
    expect(normalizeMailboxName('InboxFoo')).toBe('InboxFoo');
    expect(normalizeMailboxName('x.inbox')).toBe('x.inbox');
    expect(normalizeMailboxName('sent')).toBe('sent'); // other names are case-sensitive
  });

  it('lists parents outermost first', () => {
    expect(parentNames('a.b.c')).toEqual(['a', 'a.b']);
    expect(parentNames('Sent')).toEqual([]);
    expect(parentNames('INBOX')).toEqual([]);
    expect(parentNames('inbox.x.y')).toEqual(['INBOX', 'INBOX.x']);
    expect(parentNames('中文.子文件夹')).toEqual(['中文']);
  });
});

// ---- live comparison with the installed Dovecot ------------------------------------------------

function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const IS_ROOT = process.getuid?.() === 0;
// doveadm refuses to access mail as root, so as root it runs as nobody through setpriv.
const MISSING = !hasCommand('doveadm') ? 'doveadm' : IS_ROOT && !hasCommand('setpriv') ? 'setpriv' : null;
const SKIP_REASON = `SKIPPED: ${MISSING} not found on PATH (install dovecot-core${MISSING === 'setpriv' ? ' and util-linux' : ''})`;
if (MISSING) console.warn(`[folder-path.test] ${SKIP_REASON}`);

if (MISSING && process.env.CI === 'true') {
  it('doveadm is installed in CI', () => {
    throw new Error(`CI=true but ${MISSING} is not on PATH`);
  });
}

describe.skipIf(MISSING !== null)(MISSING ? `live doveadm mailbox create (${SKIP_REASON})` : 'live doveadm mailbox create', () => {
  let home = '';
  let mail = '';
  let owner: { uid: number; gid: number } | null = null;

  function doveadm(...args: string[]): { ok: boolean; stdout: string; stderr: string } {
    const cmd = ['doveadm', '-c', path.join(home, 'dovecot.conf'), ...args];
    const user = owner ? 'nobody' : os.userInfo().username;
    const env = ['env', `USER=${user}`, `HOME=${home}`];
    const argv = owner
      ? ['setpriv', `--reuid=${owner.uid}`, `--regid=${owner.gid}`, '--clear-groups', ...env, ...cmd]
      : [...env, ...cmd];
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
    return { ok: r.status === 0, stdout: r.stdout, stderr: r.stderr.trim() };
  }

  function dotEntries(): Set<string> {
    return new Set(readdirSync(mail).filter((e) => e.startsWith('.')));
  }

  /** Creates `name` and returns the new Maildir++ entry, or Dovecot's error. */
  function create(name: string): { dir: string } | { error: string } {
    const before = dotEntries();
    const r = doveadm('mailbox', 'create', '--', name);
    const added = [...dotEntries()].filter((e) => !before.has(e));
    if (!r.ok) {
      expect(added).toEqual([]);
      return { error: r.stderr.replace(/^.*?Error: Can't create mailbox [^]*?: (?=[A-Z])/, '') };
    }
    expect(added.length, `${JSON.stringify(name)} created ${JSON.stringify(added)}`).toBe(1);
    return { dir: added[0]! };
  }

  beforeAll(() => {
    home = mkdtempSync(path.join(os.tmpdir(), 'tsmail-folders-'));
    mail = path.join(home, 'mail');
    writeFileSync(
      path.join(home, 'dovecot.conf'),
      `ssl = no\nlog_path = /dev/stderr\nmail_location = maildir:${mail}\nnamespace inbox {\n  inbox = yes\n  separator = .\n}\n`,
    );
    if (IS_ROOT) {
      owner = {
        uid: Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })),
        gid: Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' })),
      };
      chownSync(home, owner.uid, owner.gid);
      chmodSync(home, 0o755);
      chmodSync(path.join(home, 'dovecot.conf'), 0o644);
    }
    const init = doveadm('mailbox', 'list'); // creates the Maildir with INBOX
    expect(init.ok, init.stderr).toBe(true);
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('creates the directories in the table, which imapNameToDir predicts', () => {
    for (const [name, entry] of DOVEADM_DIRS) {
      expect(create(name), JSON.stringify(name)).toEqual({ dir: entry });
      expect(imapNameToDir(mail, name)).toBe(path.join(mail, entry));
    }
    for (const name of INBOX_NAMES) expect(create(name)).toEqual({ error: 'Mailbox already exists' });
  });

  it('refuses the names in the table', () => {
    for (const [name, error] of DOVEADM_REJECTED) expect(create(name), JSON.stringify(name)).toEqual({ error });
    for (const [name, result] of STRICTER_THAN_DOVEADM) expect(create(name), JSON.stringify(name)).toEqual(result);
  });

  it('lists what dirNameToImapName finds, and more', () => {
    for (const [entry] of DOVEADM_LISTS_ANYWAY) {
      for (const sub of ['cur', 'new', 'tmp']) mkdirSync(path.join(mail, entry, sub), { recursive: true });
      if (owner) for (const p of [entry, `${entry}/cur`, `${entry}/new`, `${entry}/tmp`]) chownSync(path.join(mail, p), owner.uid, owner.gid);
    }
    const r = doveadm('mailbox', 'list');
    expect(r.ok, r.stderr).toBe(true);
    const listed = new Set(r.stdout.split('\n').filter((l) => l !== ''));
    for (const entry of dotEntries()) {
      const name = dirNameToImapName(entry);
      if (name !== null) expect(listed, entry).toContain(name);
    }
    for (const [entry, shown] of DOVEADM_LISTS_ANYWAY) {
      expect(listed, entry).toContain(shown);
      expect(dirNameToImapName(entry)).toBeNull();
    }
  });
});
