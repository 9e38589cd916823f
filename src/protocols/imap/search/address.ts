/**
 * FROM/TO/CC/BCC search the address header as Dovecot rewrites it (message_address_parse +
 * message_address_write), not as written: a display name is quoted when it is not all atom
 * text (`John Doe <a@b>` → `"John Doe" <a@b>`), a bare `a@b (Name)` becomes `Name <a@b>`, a
 * bare `a@b` becomes `<a@b>`, groups become `group: <a@b>, <c@d>;`, and broken addresses get
 * Dovecot's MISSING_MAILBOX / MISSING_DOMAIN / SYNTAX_ERROR placeholders. Encoded words are
 * left for the caller to decode (a name holding one is written unquoted, as Dovecot does).
 */
import { isAtext, Rfc822Lexer } from './rfc822-tokens.js';

interface Addr {
  name: string | null;
  route: string | null;
  mailbox: string;
  domain: string;
}

type Item = { group: string } | { end: true } | Addr;

function angle(lx: Rfc822Lexer, a: Addr): boolean {
  lx.pos++; // '<'
  if (!lx.skipCfws()) return false;
  if (lx.peek() === '@') {
    const route: string[] = [];
    while (lx.peek() === '@') {
      lx.pos++;
      lx.skipCfws();
      route.push('@' + lx.atom(true));
      while (lx.peek() === ',') {
        lx.pos++;
        lx.skipCfws();
      }
    }
    a.route = route.join(',');
    if (lx.peek() === ':') lx.pos++;
    if (!lx.skipCfws()) return false;
  }
  if (lx.peek() !== '>') {
    const local = lx.peek() === '"' ? lx.quoted() : lx.atom(true);
    if (local === null || local === '') return false;
    a.mailbox = local;
    if (lx.peek() === '@') {
      lx.pos++;
      lx.skipCfws();
      const dom = domain(lx);
      if (dom === '') return false;
      a.domain = dom;
    }
  }
  if (lx.peek() !== '>') return false;
  lx.pos++;
  lx.skipCfws();
  return true;
}

function domain(lx: Rfc822Lexer): string {
  if (lx.peek() !== '[') return lx.atom(true);
  const end = lx.s.indexOf(']', lx.pos);
  if (end < 0) return '';
  const lit = lx.s.slice(lx.pos, end + 1);
  lx.pos = end + 1;
  lx.skipCfws();
  return lit;
}

function mailbox(lx: Rfc822Lexer): Addr {
  const a: Addr = { name: null, route: null, mailbox: '', domain: '' };
  const start = lx.pos;
  const name = lx.phrase();
  if (lx.peek() === '<') {
    a.name = name === '' ? null : name;
    if (!angle(lx, a)) {
      if (a.mailbox === '') a.mailbox = 'MISSING_MAILBOX';
      a.domain = 'SYNTAX_ERROR';
      lx.pos = lx.s.length;
    }
  } else {
    lx.pos = start;
    lx.lastComment = '';
    const quotedLocal = lx.peek() === '"';
    const local = quotedLocal ? lx.quoted() : lx.atom(true);
    a.mailbox = local ?? '';
    let hadDomain = false;
    if (local !== null && lx.peek() === '@') {
      lx.pos++;
      lx.skipCfws();
      a.domain = domain(lx);
      hadDomain = true;
    }
    if (lx.lastComment !== '') a.name = lx.lastComment;
    else if (!hadDomain) {
      const rest = lx.phrase();
      if (rest !== '') {
        a.name = `${a.mailbox} ${rest}`;
        a.mailbox = '';
      } else if (a.mailbox !== '' && !quotedLocal) {
        // `user` alone: Dovecot keeps it as the name of an address without mailbox
      }
    }
  }
  if (a.mailbox === '') a.mailbox = 'MISSING_MAILBOX';
  if (a.domain === '') a.domain = 'MISSING_DOMAIN';
  return a;
}

function parse(value: string): Item[] {
  const lx = new Rfc822Lexer(value);
  const out: Item[] = [];
  if (!lx.skipCfws()) return out;
  while (!lx.done) {
    const start = lx.pos;
    const name = lx.phrase();
    if (name !== '' && lx.peek() === ':') {
      lx.pos++;
      lx.skipCfws();
      out.push({ group: name });
      while (!lx.done && lx.peek() !== ';') {
        const before = lx.pos;
        out.push(mailbox(lx));
        if (lx.peek() !== ',') break;
        lx.pos++;
        lx.skipCfws();
        if (lx.pos === before) break;
      }
      out.push({ end: true });
      if (lx.peek() === ';') {
        lx.pos++;
        lx.skipCfws();
      }
    } else {
      lx.pos = start;
      out.push(mailbox(lx));
    }
    if (lx.peek() !== ',') break;
    lx.pos++;
    if (!lx.skipCfws()) break;
  }
  return out;
}

function maybeQuote(s: string, dotsOk: boolean): string {
  let plain = true;
  for (const ch of s) {
    if (!isAtext(ch) && !(dotsOk && ch === '.')) {
      plain = false;
      break;
    }
  }
  if (plain) return s;
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}

/** The address header value as Dovecot's message_address_write() gives it. */
export function normalizeAddresses(value: string): string {
  let out = '';
  let first = true;
  for (const it of parse(value)) {
    if (!first) out += ', ';
    first = false;
    if ('group' in it) {
      out += (it.group.includes('=?') ? it.group : maybeQuote(it.group, false)) + ': ';
      first = true;
    } else if ('end' in it) {
      if (out.endsWith(', ')) out = out.slice(0, -2);
      else if (out.endsWith(': ')) out = out.slice(0, -1);
      out += ';';
    } else {
      if (it.name !== null) out += it.name.includes('=?') ? it.name : maybeQuote(it.name, false);
      if (it.name) out += ' ';
      out += '<' + (it.route ? it.route + ':' : '') + maybeQuote(it.mailbox, true) + '@' + it.domain + '>';
    }
  }
  return out;
}
