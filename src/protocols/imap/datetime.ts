/**
 * IMAP dates: `date` (RFC 9051 9: search keys, `d-Mon-yyyy` or `dd-Mon-yyyy`, optionally quoted)
 * and `date-time` (APPEND's internal date, `"dd-Mon-yyyy hh:mm:ss +zzzz"`, always quoted).
 */
import { ParseError, type Reader } from './reader.js';

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/** `1-Jan-2020` (month in any case) → [year, month 0-11, day] or null. */
function calendarDay(s: string): [number, number, number] | null {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(s);
  if (!m) return null;
  const day = Number(m[1]);
  const month = MONTHS.indexOf(m[2]!.toUpperCase());
  const year = Number(m[3]);
  // Days beyond the month's end (31-Feb) roll over as Dovecot's mktime() does; 0 and 32+ do not.
  if (month < 0 || day < 1 || day > 31 || year < 1) return null;
  return [year, month, day];
}

function utcDay(year: number, month: number, day: number): Date {
  const d = new Date(Date.UTC(2000, month, day));
  d.setUTCFullYear(year); // Date.UTC maps years 0-99 to 1900-1999
  return d;
}

/** A search `date` (RFC 9051 6.4.4: calendar days, disregarding time and timezone) as UTC midnight. */
export function readSearchDate(r: Reader): Date {
  let text: string;
  if (r.peek() === 0x22) text = r.quoted().toString('latin1');
  else text = r.word((c) => c > 0x20 && c < 0x7f && c !== 0x28 && c !== 0x29);
  const ymd = calendarDay(text);
  if (!ymd) throw new ParseError('Invalid search date parameter');
  return utcDay(...ymd);
}

/**
 * RFC 9051 9 `date-time`: DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone
 * DQUOTE, with date-day-fixed = (SP DIGIT) / 2DIGIT. Returns the instant it names.
 */
export function parseDateTime(text: string): Date | null {
  // Dovecot also takes a one-digit day without the padding space (`1-Jan-2020 ...`); so do we.
  const m = /^( ?\d|\d\d)-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$/.exec(text);
  if (!m) return null;
  const ymd = calendarDay(`${m[1]!.trim()}-${m[2]}-${m[3]}`);
  if (!ymd) return null;
  const [h, min, sec, zh, zm] = [m[4], m[5], m[6], m[8], m[9]].map(Number) as [number, number, number, number, number];
  if (h > 23 || min > 59 || sec > 60 || zm > 59) return null;
  const local = utcDay(...ymd).getTime() + ((h * 60 + min) * 60 + sec) * 1000;
  const offset = (m[7] === '-' ? -1 : 1) * (zh * 60 + zm) * 60_000;
  return new Date(local - offset);
}
