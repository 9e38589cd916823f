/**
 * A tiny authoritative DNS server on 127.0.0.1 (UDP, a free port) answering from a fixed table,
 * so the real SystemResolver (c-ares) and the real daemon can be tested without the internet
 * (design.md). RFC 1035 wire format, written here with node:dgram (libraries.md: no dns2 3.1.1).
 *
 * Table: name → records by type, or a marker for the whole name. Markers may also stand in for
 * one type: 'SERVFAIL' answers RCODE 2, 'TIMEOUT' never answers (the query is still logged).
 * An unknown name is NXDOMAIN; a known name without the asked type is NOERROR with no answers
 * (NODATA). Names are matched case-insensitively, without the trailing dot.
 *
 * Not a real server: no TCP, no EDNS, no SOA in negative answers, one question per query.
 */
import dgram from 'node:dgram';
import net from 'node:net';

export type Marker = 'SERVFAIL' | 'TIMEOUT';

export interface FakeRecords {
  A?: string[] | Marker;
  AAAA?: string[] | Marker;
  MX?: { preference: number; exchange: string }[] | Marker;
  /** A string is one record, split into 255-byte character-strings; an array gives them explicitly. */
  TXT?: (string | string[])[] | Marker;
  PTR?: string[] | Marker;
}

export type FakeZone = Record<string, FakeRecords | Marker>;

export interface FakeDns {
  port: number;
  /** "127.0.0.1:<port>", for `[dns] servers` or SystemResolver. */
  server: string;
  /** Every question received, in order: "TXT example.test". */
  queries: string[];
  close(): Promise<void>;
}

// RFC 1035 3.2.2 type codes (AAAA: RFC 3596 2.1).
const TYPES = { A: 1, PTR: 12, MX: 15, TXT: 16, AAAA: 28 } as const;
type TypeName = keyof typeof TYPES;
const TYPE_NAMES = new Map<number, TypeName>(Object.entries(TYPES).map(([k, v]) => [v, k as TypeName]));

// RFC 1035 4.1.1 RCODE values.
const NOERROR = 0;
const FORMERR = 1;
const SERVFAIL = 2;
const NXDOMAIN = 3;
const NOTIMP = 4;

/** TTL 0 so no resolver cache (c-ares has one) hides a query from the log or a changed answer. */
const TTL = 0;

export async function startFakeDns(zone: FakeZone): Promise<FakeDns> {
  const table = new Map(Object.entries(zone).map(([name, v]) => [normalize(name), v]));
  const queries: string[] = [];
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, peer) => {
    const reply = answer(msg, table, queries);
    if (reply) socket.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  return {
    port,
    server: `127.0.0.1:${port}`,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** The reply datagram for one query, or null to stay silent (TIMEOUT, or not a query at all). */
function answer(msg: Buffer, table: Map<string, FakeRecords | Marker>, queries: string[]): Buffer | null {
  if (msg.length < 12 || msg[2]! & 0x80) return null; // too short, or a response (QR set)
  const opcode = (msg[2]! >> 3) & 0x0f;
  const qdcount = msg.readUInt16BE(4);
  const question = qdcount === 1 ? readQuestion(msg) : null;
  if (!question) return header(msg, FORMERR, 0);
  const { name, type, end } = question;
  const typeName = TYPE_NAMES.get(type);
  queries.push(`${typeName ?? `TYPE${type}`} ${name}`);
  // The question section exactly as asked (RFC 1035 4.1.2: copied into the response).
  const echoed = msg.subarray(12, end);
  if (opcode !== 0) return Buffer.concat([header(msg, NOTIMP, 0, 1), echoed]);

  const entry = table.get(name);
  if (entry === undefined) return Buffer.concat([header(msg, NXDOMAIN, 0, 1), echoed]);
  const records = typeof entry === 'string' ? entry : typeName ? entry[typeName] : undefined;
  if (records === 'TIMEOUT') return null;
  if (records === 'SERVFAIL') return Buffer.concat([header(msg, SERVFAIL, 0, 1), echoed]);
  const rdatas = records && typeName ? encodeAll(typeName, records) : [];
  // Answer owner names point at the question name at offset 12 (RFC 1035 4.1.4 compression).
  const answers = rdatas.map((rdata) => {
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0);
    rr.writeUInt16BE(type, 2);
    rr.writeUInt16BE(1, 4); // class IN
    rr.writeUInt32BE(TTL, 6);
    rr.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([rr, rdata]);
  });
  return Buffer.concat([header(msg, NOERROR, answers.length, 1), echoed, ...answers]);
}

/** The one question: QNAME (uncompressed labels, as resolvers send), QTYPE, QCLASS. */
function readQuestion(msg: Buffer): { name: string; type: number; end: number } | null {
  const labels: string[] = [];
  let i = 12;
  for (;;) {
    if (i >= msg.length) return null;
    const len = msg[i]!;
    if (len === 0) break;
    if (len > 63 || i + 1 + len > msg.length) return null; // pointers or garbage: not in a query
    labels.push(msg.toString('latin1', i + 1, i + 1 + len));
    i += 1 + len;
  }
  if (i + 5 > msg.length) return null;
  return { name: normalize(labels.join('.')), type: msg.readUInt16BE(i + 1), end: i + 5 };
}

/** RFC 1035 4.1.1 header: ID and RD copied, QR and AA set, opcode kept, RA clear (no recursion). */
function header(query: Buffer, rcode: number, ancount: number, qdcount = 0): Buffer {
  const h = Buffer.alloc(12);
  query.copy(h, 0, 0, 2);
  const opcode = (query[2]! >> 3) & 0x0f;
  const rd = query[2]! & 0x01;
  h[2] = 0x80 | (opcode << 3) | 0x04 | rd;
  h[3] = rcode;
  h.writeUInt16BE(qdcount, 4);
  h.writeUInt16BE(ancount, 6);
  return h;
}

function encodeAll(type: TypeName, records: NonNullable<FakeRecords[TypeName]>): Buffer[] {
  switch (type) {
    case 'A':
      return (records as string[]).map(ipv4);
    case 'AAAA':
      return (records as string[]).map(ipv6);
    case 'MX': // RFC 1035 3.3.9: PREFERENCE, EXCHANGE
      return (records as { preference: number; exchange: string }[]).map((mx) => {
        const pref = Buffer.alloc(2);
        pref.writeUInt16BE(mx.preference);
        return Buffer.concat([pref, domainName(mx.exchange)]);
      });
    case 'TXT':
      return (records as (string | string[])[]).map(txt);
    case 'PTR':
      return (records as string[]).map(domainName);
  }
}

function ipv4(addr: string): Buffer {
  if (!net.isIPv4(addr)) throw new Error(`fake DNS: not an IPv4 address: ${addr}`);
  return Buffer.from(addr.split('.').map(Number));
}

/** 16 bytes of an IPv6 address, "::" expanded (no embedded IPv4 form: not needed here). */
function ipv6(addr: string): Buffer {
  if (!net.isIPv6(addr) || addr.includes('.')) throw new Error(`fake DNS: not a plain IPv6 address: ${addr}`);
  const [head = '', tail] = addr.split('::') as [string, string?];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** Uncompressed labels (RFC 1035 3.1); compression inside RDATA is optional and not used. */
function domainName(name: string): Buffer {
  const labels = normalize(name).split('.').filter(Boolean);
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
}

/** RFC 1035 3.3.14: one or more character-strings, each a length byte and up to 255 bytes. */
function txt(record: string | string[]): Buffer {
  const parts: Buffer[] = [];
  if (Array.isArray(record)) {
    for (const s of record) parts.push(Buffer.from(s, 'utf8'));
  } else {
    const bytes = Buffer.from(record, 'utf8');
    for (let i = 0; i < bytes.length || i === 0; i += 255) parts.push(bytes.subarray(i, i + 255));
  }
  return Buffer.concat(parts.flatMap((p) => {
    if (p.length > 255) throw new Error('fake DNS: a TXT character-string is at most 255 bytes');
    return [Buffer.from([p.length]), p];
  }));
}
