import { describe, expect, it } from 'vitest';
import { userEntryFromRows } from './userdb-fields.js';

describe('userEntryFromRows', () => {
  it('takes password and user from the password row, userdb fields from the user row', () => {
    const entry = userEntryFromRows(
      'alice@example.com',
      { user: 'alice@example.com', password: '{SHA512-CRYPT}$6$x' },
      { USER: 'alice@example.com', Mail: 'maildir:/m/alice', home: '/h/alice', uid: 5000, gid: '5000', quota_rule: '*:storage=1M' },
    );
    expect(entry).toEqual({
      user: 'alice@example.com',
      password: '{SHA512-CRYPT}$6$x',
      mail: 'maildir:/m/alice',
      home: '/h/alice',
      uid: 5000,
      gid: 5000,
      quotaRules: ['*:storage=1M'],
    });
  });

  it('reads prefetch userdb_ columns, lets the user row win, orders quota rules', () => {
    const entry = userEntryFromRows(
      'bob@x.org',
      { password: 'p', userdb_home: '/pre/bob', userdb_uid: 'vmail', userdb_quota_rule2: 'Trash:storage=+10M', USERDB_QUOTA_RULE: '*:bytes=100' },
      { home: '/user/bob', quota_rule3: '*:messages=10' },
    );
    expect(entry.user).toBe('bob@x.org');
    expect(entry.home).toBe('/user/bob');
    expect(entry.uid).toBe('vmail');
    expect(entry.quotaRules).toEqual(['*:bytes=100', 'Trash:storage=+10M', '*:messages=10']);
  });

  it('treats NULL columns as absent and a NULL password as no login', () => {
    const entry = userEntryFromRows('c@x.org', { user: null, password: null, userdb_mail: null }, { quota_rule: null });
    expect(entry).toEqual({ user: 'c@x.org', password: null });
  });

  it('decodes binary columns as UTF-8', () => {
    const entry = userEntryFromRows('d@x.org', { password: Buffer.from('{PLAIN}pässword') });
    expect(entry.password).toBe('{PLAIN}pässword');
  });
});
