/**
 * The SEARCH keys search-oracle.test.ts puts to Dovecot and to searchFolder(): every key kind,
 * the corpus's interesting words (in several scripts and cases, with and without diacritics),
 * and combinations.
 */
import type { SearchKey } from '../../../src/protocols/imap/types.js';

const t = (s: string) => Buffer.from(s, 'utf8');
const day = (s: string) => new Date(`${s}T00:00:00Z`);

/** Words to look for in headers and bodies (the corpus has most of them somewhere). */
const TERMS = [
  'café', 'CAFE', 'cafe', 'naïve', 'naive', 'wörld', 'world', 'WÖRLD', 'straße', 'strasse', 'istanbul', 'İstanbul', 'i̇stanbul', 'ǆemal', 'σίσυφος', 'ΣΊΣΥΦΟΣ',
  'résumé', 'resume', 'déjà vu', 'chère collègue', 'résumé de la', 'espaces  fin', 'avec espaces', '= été', 'ligne avec',
  '日本語', 'テキスト', 'plain ascii', 'alternative', 'special offer', 'zoë', 'ünïcödé', 'preamble', 'epilogue', 'html <b>version</b>', '&amp;', 'special offer &amp;',
  'secretword', 'imagesecret', 'report attached', 'csvvalue', 'report.pdf',
  'inner subject', 'inner body text', 'ümlaut', 'original sender', 'forwarded message',
  'latin-1 bytes', 'café crème', 'caf', 'folded across several lines', 'across   several', 'across several', 'folded\tacross', 'second subject', 'value\twith', 'value with', 'tight',
  'no date', 'garbage', 'quoted, name', '"quoted, name"', 'group name', 'member1', 'm two', 'routed', 'route.example', 'missing_mailbox', 'syntax_error', 'plainbcc',
  'end-of-long-line', 'word word word', 'first part text', 'never closed', 'flowed paragraph', 'flowed \nparagraph', 'ÜPPER', 'upper case headers', 'señor', 'strange charset', 'needle in the haystack',
  'deep attached subject', 'deep attached body', 'crlf line ends', 'only&nbsp;html', 'entities &eacute;', 'example.test', 'EXAMPLE', '@', 'x', 'subject: ', 'from: carol', 'content-type: text/plain',
 'jöhn ünter', '"jöhn ünter" <junter', 'jöhn   ünter', 'zoë', '<zoe@example.test>', 'jörg käse', 'jörg käse <jk', 'rené', 'latin <rene', 'split multibyte é across', 'split multibyte', 'upper case field', 'space before colon', 'caf', 'latin header',
  'smart “quotes” and €uro', '€uro', 'привет мир', 'inner multipart text', 'binaryneedle', 'inner with parts', 'base64 wrapped', 'b64msg', 'headers only', 'no body separator', 'raw 8-bit names',
   'secret base64', 'c2VjcmV0', 'boundaryless', 'café latin only', 'midwords', 'of midword', 'ofmidword', 'in quotes', '"in quotes"', 'has space', 'unknownenc', 'digest entry one', 'digest body one', 'd1@example.net', 'digest plain part',
  'no subtype text', 'jsonneedle', 'not a boundary line', 'reporting-mta', 'status: 5.1.1', 'utf sixteen text', 'a body with no header', 'first@example.test', 'second@example.test', 'continuation without', 'after the junk line',
  'meeting\r\ndate: sun', 'meeting\ndate: sun', 'naïve.\nstraße', 'naïve.\r\nstraße', 'jöhn doe', '"jöhn doe"', 'john@example.com', '<john@example.com>', 'françois', 'jörg k', 'dave d.', '"dave d." <dave', 'dave d. <dave', 'undisclosed-recipients:;', 'news@example.org', 'newsletter <news',
];

const HEADER_FIELDS = ['X-Bad-Word', 'X-After', 'Continuation without header', 'X-Latin', 'X-Empty-Value', 'subject', 'SUBJECT', 'X-Tab', 'X-Empty', 'X-NoSpace', 'Message-ID', 'Content-Type', 'Reply-To', 'Date', 'From', 'Subject', 'X-Missing'];

export function searchQueries(count: number): SearchKey[] {
  const q: SearchKey[] = [{ kind: 'all' }];
  for (const flag of ['\\Answered', '\\Deleted', '\\Draft', '\\Flagged', '\\Seen']) {
    q.push({ kind: 'flag', flag, set: true }, { kind: 'flag', flag, set: false });
  }
  q.push({ kind: 'flag', flag: '\\Recent', set: true }, { kind: 'new' }, { kind: 'old' });
  for (const kw of ['Junk', 'junk', '$Forwarded', 'NonJunk', 'Unknown']) q.push({ kind: 'flag', flag: kw, set: true }, { kind: 'flag', flag: kw, set: false });
  for (const size of [0, 100, 200, 300, 400, 500, 700, 1000, 2500]) q.push({ kind: 'size', op: 'larger', size }, { kind: 'size', op: 'smaller', size });
  for (const d of ['2026-03-01', '2026-03-02', '2026-03-04', '2026-03-07', '2026-03-10', '2026-03-21', '1970-01-01', '2026-03-05', '2026-03-11', '2026-03-12', '2026-02-02', '2026-03-25', '2026-03-26', '2026-03-27', '2026-03-28']) {
    for (const op of ['before', 'on', 'since'] as const) {
      q.push({ kind: 'date', which: 'internal', op, date: day(d) }, { kind: 'date', which: 'sent', op, date: day(d) });
    }
  }
  q.push({ kind: 'date', which: 'sent', op: 'before', date: day('1971-01-01') }, { kind: 'date', which: 'sent', op: 'on', date: day('2026-03-09') });
  q.push(
    { kind: 'seq', set: { ranges: [{ from: 1, to: 5 }] } },
    { kind: 'seq', set: { ranges: [{ from: 3, to: 3 }, { from: 7, to: '*' }] } },
    { kind: 'seq', set: { ranges: [{ from: '*', to: '*' }] } },
    { kind: 'seq', set: { ranges: [{ from: count - 1, to: count + 5 }] } },
    { kind: 'uid', set: { ranges: [{ from: 2, to: 4 }, { from: 9, to: 9 }] } },
    { kind: 'uid', set: { ranges: [{ from: count + 10, to: '*' }] } },
    { kind: 'not', key: { kind: 'seq', set: { ranges: [{ from: 2, to: '*' }] } } },
  );
  for (const term of TERMS) {
    const value = t(term);
    q.push({ kind: 'body', value }, { kind: 'text', value });
    for (const key of ['FROM', 'TO', 'CC', 'BCC', 'SUBJECT'] as const) q.push({ kind: 'header', field: key[0] + key.slice(1).toLowerCase(), key, value });
  }
  for (const field of HEADER_FIELDS) {
    q.push({ kind: 'header', field, value: t('') });
    for (const term of ['value', 'with tabs', 'value\twith', 'tight', 'example', 'text/plain', '2026', 'carol', 'résumé', 'inner', 'folded across', 'café', 'caf', 'space', 'upper', 'split', '']) q.push({ kind: 'header', field, value: t(term) });
  }
  for (const key of ['FROM', 'TO', 'CC', 'BCC', 'SUBJECT'] as const) q.push({ kind: 'header', field: key, key, value: t('') });
  q.push(
    { kind: 'and', keys: [{ kind: 'flag', flag: '\\Seen', set: true }, { kind: 'body', value: t('the') }] },
    { kind: 'or', a: { kind: 'header', field: 'Subject', key: 'SUBJECT', value: t('date') }, b: { kind: 'flag', flag: '\\Flagged', set: true } },
    { kind: 'not', key: { kind: 'text', value: t('example.test') } },
    { kind: 'not', key: { kind: 'date', which: 'sent', op: 'on', date: day('1970-01-01') } },
    { kind: 'or', a: { kind: 'not', key: { kind: 'body', value: t('message') } }, b: { kind: 'size', op: 'larger', size: 600 } },
    { kind: 'and', keys: [{ kind: 'not', key: { kind: 'flag', flag: 'Junk', set: true } }, { kind: 'text', value: t('alice') }, { kind: 'date', which: 'sent', op: 'since', date: day('2026-03-02') }] },
  );
  return q;
}
