/**
 * Dovecot passwd-file format (doc.dovecot.org "passwd-file"):
 *
 *   user:password:uid:gid:(gecos):home:(shell):extra_fields
 *
 * Lines starting with `#` and blank lines are ignored. Trailing fields may be left out.
 * extra_fields are space-separated `key=value` pairs; `userdb_` prefixed keys are userdb fields
 * (`userdb_quota_rule=*:storage=10M`, `userdb_mail=maildir:...`). A password field that is empty
 * means the user cannot log in here (Dovecot would then need another passdb).
 */
import type { UserEntry } from '../types.js';

export interface PasswdLine {
  user: string;
  password: string;
  uid: string;
  gid: string;
  gecos: string;
  home: string;
  shell: string;
  extra: string[];
}

export function parsePasswdLine(line: string): PasswdLine | null {
  if (line.trim() === '' || line.trimStart().startsWith('#')) return null;
  const fields = line.split(':');
  // extra_fields may themselves contain ':' (quota rules do), so everything from field 8 on is one.
  const [user = '', password = '', uid = '', gid = '', gecos = '', home = '', shell = ''] = fields;
  const extra = fields.slice(7).join(':').trim();
  if (user === '') return null;
  return { user, password, uid, gid, gecos, home, shell, extra: extra ? extra.split(/\s+/) : [] };
}

export function formatPasswdLine(p: PasswdLine): string {
  return [p.user, p.password, p.uid, p.gid, p.gecos, p.home, p.shell, p.extra.join(' ')].join(':');
}

/** The passdb+userdb view of one line. */
export function toUserEntry(p: PasswdLine): UserEntry {
  const entry: UserEntry = { user: p.user, password: p.password === '' ? null : p.password };
  if (p.uid) entry.uid = numericOrName(p.uid);
  if (p.gid) entry.gid = numericOrName(p.gid);
  if (p.home) entry.home = p.home;
  const rules: string[] = [];
  for (const field of p.extra) {
    const eq = field.indexOf('=');
    const rawKey = eq < 0 ? field : field.slice(0, eq);
    const value = eq < 0 ? '' : field.slice(eq + 1);
    const key = rawKey.replace(/^userdb_/, '');
    if (/^quota_rule\d*$/.test(key)) rules.push(value);
    else if (key === 'mail') entry.mail = value;
    else if (key === 'home') entry.home = value;
    else if (key === 'uid') entry.uid = numericOrName(value);
    else if (key === 'gid') entry.gid = numericOrName(value);
  }
  if (rules.length) entry.quotaRules = rules;
  return entry;
}

function numericOrName(v: string): number | string {
  return /^\d+$/.test(v) ? Number(v) : v;
}
