/**
 * The Date: header as SENTBEFORE/SENTON/SENTSINCE read it, following Dovecot's
 * message_date_parse(): `[weekday ","] d[d] Mon [yy]yy h[h]:mm[:ss] [zone]`, comments skipped,
 * two-digit years from 1970. RFC 3501 6.4.4 ignores the time zone in searches, so the result
 * is the sender's wall-clock time as if it were UTC.
 */
import { Rfc822Lexer } from './rfc822-tokens.js';

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** Wall-clock milliseconds (as UTC) of a Date: value, or null when Dovecot could not parse it. */
export function parseSentDate(value: string): number | null {
  const lx = new Rfc822Lexer(value);
  lx.skipCfws();
  let tok = lx.atom();
  if (tok === '') return null;
  if (tok.length === 3) {
    if (lx.peek() !== ',') return null;
    lx.pos++;
    lx.skipCfws();
    tok = lx.atom();
  }
  if (!/^\d{1,2}$/.test(tok)) return null;
  const day = Number(tok);
  tok = lx.atom();
  const month = tok.length >= 3 ? MONTHS.indexOf(tok.slice(0, 3).toLowerCase()) : -1;
  if (month < 0) return null;
  tok = lx.atom();
  if (!/^(\d{2}|\d{4})$/.test(tok)) return null;
  let year = Number(tok);
  if (tok.length === 2) year += year < 70 ? 2000 : 1900;
  else if (year < 1900) return null;
  tok = lx.atom();
  if (!/^\d{1,2}$/.test(tok)) return null;
  const hour = Number(tok);
  if (lx.peek() !== ':') return null;
  lx.pos++;
  lx.skipCfws();
  tok = lx.atom();
  if (!/^\d{2}$/.test(tok)) return null;
  const min = Number(tok);
  let sec = 0;
  if (lx.peek() === ':') {
    lx.pos++;
    lx.skipCfws();
    tok = lx.atom();
    if (!/^\d{2}$/.test(tok)) return null;
    sec = Number(tok);
  }
  // Dovecot subtracts the zone to get UTC and adds it back for the search (RFC 3501 ignores
  // zones), which leaves the wall clock whatever the zone token says; Date.UTC normalises
  // out-of-range fields as utc_mktime does.
  return Date.UTC(year, month, day, hour, min, sec);
}
