import path from 'node:path';
import { InvalidInput } from '../core/errors.js';

export interface LocationVars {
  /** Full user name (`%u`). */
  user: string;
  /** Home directory (`%h`, `~`), if the userdb has one. */
  home: string | null;
}

/**
 * Expands a Dovecot mail_location (`maildir:/var/mail/vhosts/%d/%n[:OPTIONS]`) for one user and
 * returns the absolute Maildir path. Only `maildir:` is supported. Each expanded variable is
 * checked so that no user name can step outside the configured tree (`..`, `/`, NUL).
 * Variables as in Dovecot: %u user, %n local part, %d domain, %h home, %% a percent sign; the
 * long forms %{user} %{username} %{domain} %{home} too, and %L lower-cases (%Lu, %Ld, %Ln).
 */
export function expandMailLocation(location: string, vars: LocationVars): string {
  const m = /^maildir:([^:]*)/.exec(location);
  if (!m || !m[1]) throw new InvalidInput(`unsupported mail location ${JSON.stringify(location)} (only maildir:PATH)`);
  const at = vars.user.lastIndexOf('@');
  const values: Record<string, string | null> = {
    u: vars.user,
    n: at >= 0 ? vars.user.slice(0, at) : vars.user,
    d: at >= 0 ? vars.user.slice(at + 1) : '',
    h: vars.home,
  };
  const long: Record<string, string> = { user: 'u', username: 'n', domain: 'd', home: 'h' };
  let dir = m[1].replace(/^~(?=\/|$)/, '%h');
  dir = dir.replace(/%(L?)(\{[a-z]+\}|[a-zA-Z%])/g, (all, lower: string, name: string) => {
    if (name === '%') return '%';
    const key = name.startsWith('{') ? long[name.slice(1, -1)] : name;
    const value = key ? values[key] : undefined;
    if (value === undefined) throw new InvalidInput(`unknown variable ${all} in mail location`);
    if (value === null) throw new InvalidInput(`mail location uses ${all} but the user has no home directory`);
    if (key !== 'h') checkComponent(value, all);
    return lower ? value.toLowerCase() : value;
  });
  if (!path.isAbsolute(dir)) throw new InvalidInput(`mail location ${JSON.stringify(dir)} is not an absolute path`);
  return path.normalize(dir).replace(/(.)\/$/, '$1');
}

function checkComponent(value: string, variable: string): void {
  // Also refused: an empty domain (`%d` for a user without one) would collapse two path levels.
  if (value === '' || value === '.' || value === '..' || /[/\\\u0000]/.test(value) || value.includes('..')) {
    throw new InvalidInput(`unsafe value for ${variable} in mail location: ${JSON.stringify(value)}`);
  }
}
