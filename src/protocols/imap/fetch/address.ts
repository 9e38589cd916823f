/**
 * Address lists for ENVELOPE (RFC 9051 7.5.2), parsed as Dovecot 2.3 does (message-address.c)
 * so clients get the same answers for broken headers: missing parts are filled in as
 * MISSING_MAILBOX / MISSING_DOMAIN, an unclosed `<` gives the domain SYNTAX_ERROR, a comment
 * stands in for a missing display name, and groups are a start entry (mailbox = group name, no
 * domain) and an end entry (all NIL). Encoded words stay encoded.
 */
import { Rfc822Reader } from './rfc822-tokens.js';

export interface Address {
  name: Buffer | null;
  route: Buffer | null;
  mailbox: Buffer | null;
  domain: Buffer | null;
}

const MISSING_MAILBOX = Buffer.from('MISSING_MAILBOX');
const MISSING_DOMAIN = Buffer.from('MISSING_DOMAIN');
const SYNTAX_ERROR = Buffer.from('SYNTAX_ERROR');
const INVALID_ROUTE = Buffer.from('INVALID_ROUTE');

function empty(): Address {
  return { name: null, route: null, mailbox: null, domain: null };
}

class AddressParser {
  readonly out: Address[] = [];
  addr: Address = empty();

  constructor(readonly r: Rfc822Reader) {}

  private add(): void {
    this.out.push(this.addr);
    this.addr = empty();
  }

  private addFixed(): void {
    if (this.addr.mailbox === null) this.addr.mailbox = MISSING_MAILBOX;
    if (this.addr.domain === null) this.addr.domain = MISSING_DOMAIN;
    this.add();
  }

  private localPart(): number {
    const s: number[] = [];
    const ret = this.r.peek() === 0x22 ? this.r.quotedString(s) : this.r.dotAtom(s);
    if (ret < 0) return -1;
    this.addr.mailbox = Buffer.from(s);
    return ret;
  }

  private domain(): number {
    const s: number[] = [];
    const ret = this.r.domain(s);
    if (ret < 0) return -1;
    this.addr.domain = Buffer.from(s);
    return ret;
  }

  private domainList(): number {
    const s: number[] = [];
    for (;;) {
      if (this.r.end) return 0;
      if (this.r.peek() !== 0x40) break;
      if (s.length > 0) s.push(0x2c);
      s.push(0x40);
      const ret = this.r.domain(s);
      if (ret <= 0) return ret;
      while (this.r.skipLwsp() > 0 && this.r.peek() === 0x2c) this.r.pos++;
    }
    this.addr.route = Buffer.from(s);
    return 1;
  }

  /** `<` [route `:`] local-part [`@` domain] `>`: anything short of the `>` is broken. */
  private angleAddr(): number {
    this.r.pos++;
    if (this.r.skipLwsp() <= 0) return -1;
    if (this.r.peek() === 0x40) {
      if (this.domainList() <= 0 || this.r.peek() !== 0x3a) {
        this.addr.route = INVALID_ROUTE;
        return -1;
      }
      this.r.pos++;
      if (this.r.skipLwsp() <= 0) return -1;
    }
    if (this.localPart() <= 0) return -1;
    if (this.r.peek() === 0x40 && this.domain() <= 0) return -1;
    if (this.r.peek() !== 0x3e) return -1;
    this.r.pos++;
    return this.r.skipLwsp();
  }

  private nameAddr(): number {
    const s: number[] = [];
    if (this.r.phrase(s) <= 0 || this.r.peek() !== 0x3c) return -1;
    this.addr.name = s.length === 0 ? null : Buffer.from(s);
    if (this.angleAddr() < 0) this.addr.domain = SYNTAX_ERROR;
    return this.r.end ? 0 : 1;
  }

  private addrSpec(): number {
    this.r.lastComment = null;
    const local: number[] = [];
    let ret = this.r.peek() === 0x22 ? this.r.quotedString(local) : this.r.dotAtom(local);
    if (ret >= 0) this.addr.mailbox = Buffer.from(local);
    let triedDomain = false;
    if (ret !== 0 && this.r.peek() === 0x40) {
      triedDomain = true;
      const ret2 = this.domain();
      if (ret2 <= 0) ret = ret2;
    }
    const comment = this.r.lastComment as Buffer | null;
    if (comment && comment.length > 0) this.addr.name = comment;
    else if (!triedDomain) {
      // A word without @domain followed by more words was a display name after all.
      local.push(0x20);
      const before = local.length;
      this.r.phrase(local);
      if (local.length !== before) {
        this.addr.mailbox = null;
        this.addr.name = Buffer.from(local);
      }
      ret = -1;
    }
    return ret;
  }

  mailbox(): number {
    const start = this.r.pos;
    let ret = this.nameAddr();
    if (ret < 0) {
      this.r.pos = start;
      ret = this.addrSpec();
    }
    this.addFixed();
    return ret;
  }

  private group(): number {
    const s: number[] = [];
    if (this.r.phrase(s) <= 0 || this.r.peek() !== 0x3a) return -1;
    this.r.pos++;
    let ret = this.r.skipLwsp();
    this.addr.mailbox = Buffer.from(s);
    this.add();
    if (ret > 0 && this.r.peek() !== 0x3b) {
      for (;;) {
        if (this.mailbox() <= 0) {
          ret = -1;
          break;
        }
        if (this.r.peek() !== 0x2c) break;
        this.r.pos++;
        if (this.r.skipLwsp() <= 0) {
          ret = -1;
          break;
        }
      }
    }
    if (ret >= 0) {
      if (this.r.peek() !== 0x3b) ret = -1;
      else {
        this.r.pos++;
        ret = this.r.skipLwsp();
      }
    }
    this.add();
    return ret === 0 ? 0 : 1;
  }

  address(): number {
    const start = this.r.pos;
    let ret = this.group();
    if (ret < 0) {
      this.r.pos = start;
      // A failed group attempt may have left a name behind.
      this.addr = empty();
      ret = this.mailbox();
    }
    return ret;
  }

  list(): void {
    for (;;) {
      if (this.address() === 0) break;
      if (this.r.peek() !== 0x2c) break;
      this.r.pos++;
      const ret = this.r.skipLwsp();
      if (ret <= 0) {
        if (ret < 0) this.addFixed();
        break;
      }
    }
  }
}

/** The addresses in a header value, or null when there are none (ENVELOPE NIL). */
export function parseAddresses(value: Buffer): Address[] | null {
  const r = new Rfc822Reader(value);
  if (r.skipLwsp() <= 0) return null;
  const p = new AddressParser(r);
  p.list();
  return p.out.length > 0 ? p.out : null;
}
