/**
 * ENVELOPE (RFC 9051 7.5.2) of a message header, byte for byte as Dovecot 2.3 writes it:
 * the last occurrence of each field counts, Date / In-Reply-To / Message-ID are the raw values
 * with line breaks removed, Subject and display names are "strings for humans" (white space
 * runs collapsed), Sender and Reply-To fall back to From, and encoded words stay encoded.
 */
import { humanString, nstring } from '../encoder.js';
import { parseAddresses, type Address } from './address.js';
import { withoutLineBreaks, type HeaderField } from './header.js';

const NIL = Buffer.from('NIL');
const SP = Buffer.from(' ');

function addressList(list: Address[] | null): Buffer {
  if (!list) return NIL;
  const parts: Buffer[] = [Buffer.from('(')];
  for (const a of list) {
    parts.push(Buffer.from('('), a.name === null ? NIL : humanString(a.name), SP, nstring(a.route), SP, nstring(a.mailbox), SP, nstring(a.domain), Buffer.from(')'));
  }
  parts.push(Buffer.from(')'));
  return Buffer.concat(parts);
}

export function renderEnvelope(fields: readonly HeaderField[]): Buffer {
  const last = new Map<string, Buffer>();
  for (const f of fields) last.set(f.name.toLowerCase(), f.value);
  const raw = (name: string) => last.get(name);
  const addrs = (name: string) => {
    const v = raw(name);
    return v === undefined ? null : parseAddresses(v);
  };
  const date = raw('date');
  const subject = raw('subject');
  const from = addrs('from');
  const sender = addrs('sender') ?? from;
  const replyTo = addrs('reply-to') ?? from;
  const inReplyTo = raw('in-reply-to');
  const messageId = raw('message-id');
  return Buffer.concat([
    Buffer.from('('),
    date === undefined ? NIL : nstring(withoutLineBreaks(date)),
    SP,
    subject === undefined ? NIL : humanString(subject),
    SP,
    addressList(from),
    SP,
    addressList(sender),
    SP,
    addressList(replyTo),
    SP,
    addressList(addrs('to')),
    SP,
    addressList(addrs('cc')),
    SP,
    addressList(addrs('bcc')),
    SP,
    inReplyTo === undefined ? NIL : nstring(withoutLineBreaks(inReplyTo)),
    SP,
    messageId === undefined ? NIL : nstring(withoutLineBreaks(messageId)),
    Buffer.from(')'),
  ]);
}
