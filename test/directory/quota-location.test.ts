import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../../src/core/errors.js';
import { parseSize } from '../../src/core/size.js';
import { expandMailLocation } from '../../src/directory/mail-location.js';
import { quotaFromRules } from '../../src/directory/quota-rule.js';

describe('quota rules (Dovecot quota_rule)', () => {
  it('reads storage in kilobytes by default and with units', () => {
    expect(quotaFromRules(['*:storage=1024M']).bytes).toBe(1024 * 1024 * 1024);
    expect(quotaFromRules(['*:storage=10M']).bytes).toBe(10 * 1024 * 1024);
    expect(quotaFromRules(['*:storage=1048576']).bytes).toBe(1024 * 1024 * 1024);
    expect(quotaFromRules(['*:storage=1G']).bytes).toBe(1024 ** 3);
  });
  it('reads bytes and messages', () => {
    expect(quotaFromRules(['*:bytes=1048576'])).toEqual({ bytes: 1048576, messages: null });
    expect(quotaFromRules(['*:storage=1M:messages=100'])).toEqual({ bytes: 1048576, messages: 100 });
  });
  it('treats 0, ignore and missing as unlimited', () => {
    expect(quotaFromRules(['*:bytes=0']).bytes).toBeNull();
    expect(quotaFromRules(['*:storage=0']).bytes).toBeNull();
    expect(quotaFromRules(['*:ignore']).bytes).toBeNull();
    expect(quotaFromRules([]).bytes).toBeNull();
  });
  it('ignores mailbox-specific and broken rules; later rules win', () => {
    expect(quotaFromRules(['Trash:storage=+100M']).bytes).toBeNull();
    expect(quotaFromRules(['*:storage=lots']).bytes).toBeNull();
    expect(quotaFromRules(['*:storage=1M', '*:storage=2M']).bytes).toBe(2 * 1024 * 1024);
  });
});

describe('sizes', () => {
  it('parses binary units', () => {
    expect(parseSize('50M')).toBe(52428800);
    expect(parseSize('1g')).toBe(1024 ** 3);
    expect(parseSize('512k')).toBe(524288);
    expect(parseSize('1048576')).toBe(1048576);
    expect(parseSize(100)).toBe(100);
    expect(() => parseSize('ten')).toThrow(InvalidInput);
    expect(() => parseSize('10X')).toThrow(InvalidInput);
    expect(() => parseSize(-1)).toThrow(InvalidInput);
  });
});

describe('mail location', () => {
  const alice = { user: 'alice@example.test', home: null };
  it('expands Dovecot variables', () => {
    expect(expandMailLocation('maildir:/var/mail/vhosts/%d/%n', alice)).toBe('/var/mail/vhosts/example.test/alice');
    expect(expandMailLocation('maildir:/srv/%u', alice)).toBe('/srv/alice@example.test');
    expect(expandMailLocation('maildir:/srv/%{domain}/%{username}:LAYOUT=fs', alice)).toBe('/srv/example.test/alice');
    expect(expandMailLocation('maildir:/srv/%Ld/%Ln', { user: 'Bob@Example.test', home: null })).toBe('/srv/example.test/bob');
    expect(expandMailLocation('maildir:~/Maildir', { user: 'a@b.test', home: '/home/vmail/b.test/a/' })).toBe('/home/vmail/b.test/a/Maildir');
    expect(expandMailLocation('maildir:%h', { user: 'a@b.test', home: '/home/vmail/b.test/a/' })).toBe('/home/vmail/b.test/a');
  });
  it('refuses path tricks in user names', () => {
    for (const user of ['../x@example.test', 'a/b@example.test', 'a@../../etc', 'x\u0000@e.test', '..@example.test', 'nodomain']) {
      expect(() => expandMailLocation('maildir:/var/mail/%d/%n', { user, home: null }), user).toThrow(InvalidInput);
    }
  });
  it('refuses unknown variables, relative paths and missing homes', () => {
    expect(() => expandMailLocation('maildir:/x/%z', alice)).toThrow(/unknown variable/);
    expect(() => expandMailLocation('maildir:relative/%d', alice)).toThrow(/absolute/);
    expect(() => expandMailLocation('maildir:%h/Maildir', alice)).toThrow(/home/);
    expect(() => expandMailLocation('mbox:/var/mail/%u', alice)).toThrow(/maildir/);
  });
});
