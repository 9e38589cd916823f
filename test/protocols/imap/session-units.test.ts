import { describe, expect, it } from 'vitest';
import { AuthFailure, InvalidInput, NotFound, PolicyReject, QuotaExceeded, TempFailure } from '../../../src/core/errors.js';
import { silentLogger, type Logger } from '../../../src/core/logger.js';
import { capabilities } from '../../../src/protocols/imap/capabilities.js';
import { listMatcher } from '../../../src/protocols/imap/list-pattern.js';
import { errorReply, formatTagged } from '../../../src/protocols/imap/replies.js';
import { formatSet } from '../../../src/protocols/imap/uid-set.js';

describe('replies.ts: typed errors → IMAP replies, detail only in the log', () => {
  const logged: unknown[] = [];
  const log: Logger = { ...silentLogger, warn: (o: unknown) => logged.push(o), error: (o: unknown) => logged.push(o), info: () => {}, child: () => log };

  it.each([
    [new QuotaExceeded('user over quota: /var/mail/x'), 'a NO [OVERQUOTA] Quota exceeded (mailbox for user is full)\r\n'],
    [new NotFound('no dir /var/mail/x/.Foo'), 'a NO [NONEXISTENT] Mailbox doesn\'t exist: Foo\r\n'],
    [new AuthFailure('bad'), 'a NO [AUTHENTICATIONFAILED] Authentication failed.\r\n'],
    [new InvalidInput('mailbox already exists: Foo'), 'a NO [ALREADYEXISTS] Mailbox already exists\r\n'],
    [new InvalidInput('name has ../'), 'a NO [CANNOT] Invalid mailbox name or argument\r\n'],
    [new PolicyReject('INBOX cannot be deleted'), 'a NO [CANNOT] Operation not permitted\r\n'],
    [new TempFailure('disk full', new Error('ENOSPC /var/mail/x/tmp')), 'a NO [UNAVAILABLE] Temporary failure, try again later\r\n'],
    [new Error('bug at /src/x.ts:1'), 'a NO [SERVERBUG] Internal error occurred. Refer to server log for more information.\r\n'],
  ])('%s', (err, line) => {
    const text = formatTagged('a', errorReply(err, log, 'Foo'));
    expect(text).toBe(line);
    expect(text).not.toMatch(/\/var\/mail|ENOSPC|\.ts/);
  });

  it('logs the internal detail of temporary and unknown failures', () => {
    logged.length = 0;
    errorReply(new TempFailure('disk full', new Error('ENOSPC')), log);
    expect(JSON.stringify(logged)).toContain('ENOSPC');
  });

  it('never lets a mailbox name break the reply line', () => {
    expect(formatTagged('a', errorReply(new NotFound('x'), log, 'a\r\nb OK'))).toBe('a NO [NONEXISTENT] Mailbox doesn\'t exist: a??b OK\r\n');
  });
});

describe('LIST patterns', () => {
  it('* crosses the separator, % does not; the reference is a prefix; INBOX in any case', () => {
    const names = ['INBOX', 'INBOX.Sub', 'Work', 'Work.A', 'Work.A.Deep', 'Workshop'];
    const m = (ref: string, p: string) => names.filter(listMatcher(ref, p));
    expect(m('', '*')).toEqual(names);
    expect(m('', '%')).toEqual(['INBOX', 'Work', 'Workshop']);
    expect(m('', 'Work.%')).toEqual(['Work.A']);
    expect(m('Work.', '*')).toEqual(['Work.A', 'Work.A.Deep']);
    expect(m('', 'inbox')).toEqual(['INBOX']);
    expect(m('', 'Inbox.%')).toEqual(['INBOX.Sub']);
    expect(m('', 'work')).toEqual([]);
    expect(m('', 'W(rk).*')).toEqual([]); // regex characters are literal
  });
});

describe('sequence sets and capabilities', () => {
  it('formats UID lists compactly in the order given (COPYUID pairs)', () => {
    expect(formatSet([1, 2, 3, 5, 7, 8])).toBe('1:3,5,7:8');
    expect(formatSet([10, 4, 5])).toBe('10,4:5');
    expect(formatSet([])).toBe('');
  });

  it('offers login only over TLS unless configured, and AUTH= only with it', () => {
    const pre = (secure: boolean, plaintextLogin: boolean) => capabilities({ secure, starttls: true, plaintextLogin, authenticated: false });
    expect(pre(false, false)).toContain('LOGINDISABLED');
    expect(pre(false, false).some((c) => c.startsWith('AUTH='))).toBe(false);
    expect(pre(false, true)).toEqual(expect.arrayContaining(['STARTTLS', 'AUTH=PLAIN', 'AUTH=LOGIN']));
    expect(pre(true, false)).not.toContain('STARTTLS');
    expect(capabilities({ secure: true, starttls: false, plaintextLogin: false, authenticated: true })).toEqual([
      'IMAP4rev1', 'IMAP4rev2', 'SASL-IR', 'LITERAL+', 'ID', 'ENABLE', 'IDLE', 'NAMESPACE', 'UNSELECT', 'UIDPLUS', 'MOVE', 'CHILDREN', 'SPECIAL-USE', 'CONDSTORE',
    ]);
  });
});
