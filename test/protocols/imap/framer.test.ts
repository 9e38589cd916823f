import { describe, expect, it } from 'vitest';
import { Framer, type FramerEvent, type FramerLimits } from '../../../src/protocols/imap/framer.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Events with Buffers as strings, literal-data chunks joined, for comparison. */
function show(events: FramerEvent[]): unknown[] {
  const out: unknown[] = [];
  for (const e of events) {
    if (e.type === 'command') out.push({ command: e.frame.toString('latin1') });
    else if (e.type === 'append') out.push({ append: e.head.toString('latin1'), size: e.size, nonSync: e.nonSync, binary: e.binary });
    else if (e.type === 'literal-data') {
      const last = out[out.length - 1] as { data?: string } | undefined;
      if (last && last.data !== undefined) last.data += e.data.toString('latin1');
      else out.push({ data: e.data.toString('latin1') });
    } else out.push(e);
  }
  return out;
}

function feed(f: Framer, input: string, chunk = Infinity): FramerEvent[] {
  const bytes = b(input);
  const events: FramerEvent[] = [];
  const step = Number.isFinite(chunk) ? chunk : bytes.length || 1;
  for (let i = 0; i < bytes.length; i += step) events.push(...f.push(bytes.subarray(i, i + step)));
  return events;
}

describe('framer: lines and pipelining', () => {
  it('splits pipelined commands in one chunk, in order', () => {
    const f = new Framer();
    expect(show(feed(f, 'a NOOP\r\nb CAPABILITY\r\nc LOGOUT\r\n'))).toEqual([{ command: 'a NOOP\r\n' }, { command: 'b CAPABILITY\r\n' }, { command: 'c LOGOUT\r\n' }]);
  });

  it('joins a command split into 1-byte chunks', () => {
    const f = new Framer();
    expect(show(feed(f, 'a SELECT INBOX\r\nb NOOP\r\n', 1))).toEqual([{ command: 'a SELECT INBOX\r\n' }, { command: 'b NOOP\r\n' }]);
  });

  it('accepts bare LF line ends and ignores empty lines, as Dovecot does', () => {
    const f = new Framer();
    expect(show(feed(f, '\r\n\na NOOP\n'))).toEqual([{ command: 'a NOOP\n' }]);
  });

  it('gives an empty line as one while `lines` is set (an empty SASL response)', () => {
    const f = new Framer();
    f.lines = true;
    expect(show(feed(f, '\r\n'))).toEqual([{ command: '\r\n' }]);
    f.lines = false;
    expect(show(feed(f, '\r\na NOOP\r\n'))).toEqual([{ command: 'a NOOP\r\n' }]);
  });

  it('does not copy a partial line more than once per piece and keeps it across pushes', () => {
    const f = new Framer();
    expect(f.push(b('a NO'))).toEqual([]);
    expect(f.buffered).toBe(4);
    expect(show(f.push(b('OP\r\n')))).toEqual([{ command: 'a NOOP\r\n' }]);
    expect(f.buffered).toBe(0);
  });

  it('refuses a line over the limit with Dovecot\'s text and resyncs at the next line', () => {
    const f = new Framer({ maxLineLength: 100 });
    const ev = feed(f, `a SELECT ${'x'.repeat(500)}\r\nb NOOP\r\n`, 7);
    expect(show(ev)).toEqual([{ type: 'error', tag: 'a', message: 'Error in IMAP command SELECT: Too long argument', fatal: false }, { command: 'b NOOP\r\n' }]);
    expect(f.buffered).toBe(0);
  });

  it('never holds more than the line limit while a long line is skipped', () => {
    const f = new Framer({ maxLineLength: 1000 });
    let max = 0;
    for (let i = 0; i < 1000; i++) {
      f.push(b('x'.repeat(333)));
      max = Math.max(max, f.buffered);
    }
    expect(max).toBeLessThanOrEqual(1000);
    expect(show(f.push(b('\r\na NOOP\r\n')))).toEqual([{ type: 'error', message: 'Error in IMAP command: Too long argument', fatal: false }, { command: 'a NOOP\r\n' }]);
  });

  it('a too-long line ending in a non-synchronizing literal skips the literal too', () => {
    const f = new Framer({ maxLineLength: 50 });
    const ev = feed(f, `a LOGIN ${'u'.repeat(80)} {5+}\r\nb NOOP\r\nc NOOP\r\n`, 3);
    expect(show(ev)).toEqual([{ type: 'error', tag: 'a', message: 'Error in IMAP command LOGIN: Too long argument', fatal: false }, { command: 'c NOOP\r\n' }]);
  });
});

describe('framer: literals', () => {
  it('asks for continuation on a sync literal and frames it after accept()', () => {
    const f = new Framer();
    expect(show(feed(f, 'a LOGIN {3}\r\n'))).toEqual([{ type: 'continue', tag: 'a', size: 3 }]);
    expect(f.awaiting).toBe(true);
    expect(f.accept()).toEqual([]);
    expect(show(feed(f, 'bob {4}\r\n'))).toEqual([{ type: 'continue', tag: 'a', size: 4 }]);
    f.accept();
    expect(show(feed(f, 'p\r\n!\r\nb NOOP\r\n'))).toEqual([{ command: 'a LOGIN {3}\r\nbob {4}\r\np\r\n!\r\n' }, { command: 'b NOOP\r\n' }]);
  });

  it('LITERAL+ needs no continuation; literal bytes may contain CRLF and braces', () => {
    const f = new Framer();
    expect(show(feed(f, 'a LOGIN {7+}\r\nb\r\n{}\r\n {2+}\r\nxy\r\nb NOOP\r\n', 2))).toEqual([{ command: 'a LOGIN {7+}\r\nb\r\n{}\r\n {2+}\r\nxy\r\n' }, { command: 'b NOOP\r\n' }]);
  });

  it('refuse() ends the command; what the client sends next is a new command', () => {
    const f = new Framer();
    expect(show(feed(f, 'a LOGIN {3}\r\n'))).toEqual([{ type: 'continue', tag: 'a', size: 3 }]);
    expect(f.refuse()).toEqual([]);
    expect(show(feed(f, 'b NOOP\r\n'))).toEqual([{ command: 'b NOOP\r\n' }]);
  });

  it('holds data a client sends before the continuation and processes it after accept()', () => {
    const f = new Framer();
    expect(show(feed(f, 'a LOGIN {3}\r\nbob x\r\nb NOOP\r\n'))).toEqual([{ type: 'continue', tag: 'a', size: 3 }]);
    expect(show(f.accept())).toEqual([{ command: 'a LOGIN {3}\r\nbob x\r\n' }, { command: 'b NOOP\r\n' }]);
  });

  it('closes the connection when too much arrives before the continuation decision', () => {
    const f = new Framer({ maxPending: 100 });
    feed(f, 'a LOGIN {3}\r\n');
    const ev = f.push(Buffer.alloc(200, 0x41));
    expect(ev).toEqual([{ type: 'error', tag: 'a', message: 'Too much data sent before the continuation request', fatal: true }]);
    expect(f.push(b('b NOOP\r\n'))).toEqual([]);
  });

  it('refuses a sync literal over the limit without asking for it', () => {
    const f = new Framer({ maxLiteralSize: 10 });
    expect(show(feed(f, 'a LOGIN {11}\r\nb NOOP\r\n'))).toEqual([
      { type: 'error', tag: 'a', message: 'Error in IMAP command LOGIN: Literal size too large', fatal: false, tooBig: true },
      { command: 'b NOOP\r\n' },
    ]);
  });

  it('reads and drops a LITERAL+ literal over the limit (RFC 7888 4), then answers BAD', () => {
    const f = new Framer({ maxLiteralSize: 10 });
    expect(show(feed(f, `a LOGIN {20+}\r\n${'b NOOP\r\n'.repeat(2)}xyzw pass\r\nc NOOP\r\n`, 3))).toEqual([
      { type: 'error', tag: 'a', message: 'Error in IMAP command LOGIN: Literal size too large', fatal: false, tooBig: true },
      { command: 'c NOOP\r\n' },
    ]);
  });

  it('closes the connection on a LITERAL+ literal too large even to discard', () => {
    const f = new Framer({ maxLiteralSize: 10, maxDiscardSize: 100 });
    const ev = feed(f, 'a LOGIN {101+}\r\n');
    expect(ev).toEqual([{ type: 'error', tag: 'a', message: 'Literal size too large', fatal: true, tooBig: true }]);
  });

  it('limits a whole command made of many literals', () => {
    const f = new Framer({ maxCommandSize: 100 });
    let text = 'a LOGIN';
    for (let i = 0; i < 20; i++) text += ` {8+}\r\n12345678`;
    const ev = feed(f, `${text}\r\nb NOOP\r\n`);
    expect(show(ev)).toEqual([{ type: 'error', tag: 'a', message: 'Error in IMAP command LOGIN: Too long argument', fatal: false }, { command: 'b NOOP\r\n' }]);
    expect(f.buffered).toBe(0);
  });

  it('an invalid tag with a sync literal gets no continuation', () => {
    const f = new Framer();
    expect(show(feed(f, '+x LOGIN {3}\r\nb NOOP\r\n'))).toEqual([{ type: 'error', message: 'Error in IMAP command: Invalid tag', fatal: false }, { command: 'b NOOP\r\n' }]);
  });
});

describe('framer: APPEND streams its message', () => {
  it('sync: head, accept, data in chunks, end; nothing of the message is buffered', () => {
    const f = new Framer({ maxLiteralSize: 4 });
    expect(show(feed(f, 'a APPEND INBOX (\\Seen) {10}\r\n'))).toEqual([{ append: 'a APPEND INBOX (\\Seen) {10}\r\n', size: 10, nonSync: false, binary: false }]);
    expect(f.accept()).toEqual([]);
    const ev = feed(f, '0123456789\r\nb NOOP\r\n', 3);
    expect(show(ev)).toEqual([{ data: '0123456789' }, { type: 'append-end', tag: 'a' }, { command: 'b NOOP\r\n' }]);
  });

  it('LITERAL+ streams at once; the mailbox may itself be a literal', () => {
    const f = new Framer();
    const ev = feed(f, 'a APPEND {5+}\r\nINBOX {4+}\r\nabcd\r\n');
    expect(show(ev)).toEqual([{ append: 'a APPEND {5+}\r\nINBOX {4+}\r\n', size: 4, nonSync: true, binary: false }, { data: 'abcd' }, { type: 'append-end', tag: 'a' }]);
  });

  it('a sync mailbox literal is an ordinary continuation', () => {
    const f = new Framer();
    expect(show(feed(f, 'a APPEND {5}\r\n'))).toEqual([{ type: 'continue', tag: 'a', size: 5 }]);
    f.accept();
    expect(show(feed(f, 'INBOX ~{3}\r\n'))).toEqual([{ append: 'a APPEND {5}\r\nINBOX ~{3}\r\n', size: 3, nonSync: false, binary: true }]);
  });

  it('streams a 50 MB message in pieces without holding it', () => {
    const f = new Framer();
    const size = 50 * 1024 * 1024;
    f.push(b(`a APPEND INBOX {${size}+}\r\n`));
    const piece = Buffer.alloc(1024 * 1024, 0x61);
    let got = 0;
    for (let i = 0; i < 50; i++) {
      for (const e of f.push(piece)) if (e.type === 'literal-data') got += e.data.length;
      expect(f.buffered).toBe(0);
    }
    expect(got).toBe(size);
    expect(show(f.push(b('\r\n')))).toEqual([{ type: 'append-end', tag: 'a' }]);
  });

  it('refuses a message over maxAppendSize: sync without asking, LITERAL+ by discarding or closing', () => {
    const f = new Framer({ maxAppendSize: 10, maxDiscardSize: 20 });
    expect(show(feed(f, 'a APPEND INBOX {11}\r\nb NOOP\r\n'))).toEqual([
      { type: 'error', tag: 'a', message: 'Error in IMAP command APPEND: Message too large', fatal: false, tooBig: true },
      { command: 'b NOOP\r\n' },
    ]);
    expect(show(feed(f, `c APPEND INBOX {15+}\r\n${'x'.repeat(15)}\r\nd NOOP\r\n`))).toEqual([
      { type: 'error', tag: 'c', message: 'Error in IMAP command APPEND: Message too large', fatal: false, tooBig: true },
      { command: 'd NOOP\r\n' },
    ]);
    expect(feed(f, 'e APPEND INBOX {21+}\r\n')).toEqual([{ type: 'error', tag: 'e', message: 'Literal size too large', fatal: true, tooBig: true }]);
  });

  it('refuse() of an APPEND: the next line is a new command', () => {
    const f = new Framer();
    feed(f, 'a APPEND Nope {10}\r\n');
    expect(f.refuse()).toEqual([]);
    expect(show(feed(f, 'b NOOP\r\n'))).toEqual([{ command: 'b NOOP\r\n' }]);
  });

  it('anything after the message (MULTIAPPEND) is an error, its LITERAL+ skipped', () => {
    const f = new Framer();
    const ev = feed(f, 'a APPEND INBOX {2+}\r\nhi {3+}\r\nabc\r\nb NOOP\r\n');
    expect(show(ev)).toEqual([
      { append: 'a APPEND INBOX {2+}\r\n', size: 2, nonSync: true, binary: false },
      { data: 'hi' },
      { type: 'error', tag: 'a', message: 'Error in IMAP command APPEND: Invalid arguments', fatal: false },
      { command: 'b NOOP\r\n' },
    ]);
  });

  it('APPEND without a literal is an ordinary command frame (the parser reports it)', () => {
    const f = new Framer();
    expect(show(feed(f, 'a APPEND INBOX\r\n'))).toEqual([{ command: 'a APPEND INBOX\r\n' }]);
  });
});

describe('framer: edge cases', () => {
  it('a brace in the middle of a line is no literal; {0} and a bare-LF marker are', () => {
    const f = new Framer();
    expect(show(feed(f, 'a SEARCH SUBJECT {3} x\r\nb LOGIN {0+}\r\n x\r\nc LOGIN {1+}\n\n\r\n'))).toEqual([
      { command: 'a SEARCH SUBJECT {3} x\r\n' },
      { command: 'b LOGIN {0+}\r\n x\r\n' },
      { command: 'c LOGIN {1+}\n\n\r\n' },
    ]);
  });

  it('a line of exactly the limit passes; one byte more does not', () => {
    const f = new Framer({ maxLineLength: 20 });
    const line = `a SELECT ${'x'.repeat(9)}\r\n`; // 20 bytes with CRLF
    expect(line.length).toBe(20);
    expect(show(feed(f, line, 1))).toEqual([{ command: line }]);
    expect(show(feed(f, `a SELECT ${'x'.repeat(10)}\r\n`, 1))).toEqual([{ type: 'error', tag: 'a', message: 'Error in IMAP command SELECT: Too long argument', fatal: false }]);
  });

  it('a sync literal after a LITERAL+ one in the same command', () => {
    const f = new Framer();
    expect(show(feed(f, 'a LOGIN {3+}\r\nbob {2}\r\n'))).toEqual([{ type: 'continue', tag: 'a', size: 2 }]);
    expect(show([...f.accept(), ...feed(f, 'pw\r\n')])).toEqual([{ command: 'a LOGIN {3+}\r\nbob {2}\r\npw\r\n' }]);
  });

  it('a literal too large for the command, after a line that was fine, ends the whole command', () => {
    const f = new Framer({ maxLiteralSize: 5 });
    expect(show(feed(f, 'a LOGIN {3+}\r\nbob {6+}\r\n123456\r\nb NOOP\r\n', 4))).toEqual([
      { type: 'error', tag: 'a', message: 'Error in IMAP command LOGIN: Literal size too large', fatal: false, tooBig: true },
      { command: 'b NOOP\r\n' },
    ]);
  });

  it('literal bytes never become commands, whatever they contain', () => {
    const f = new Framer();
    const ev = feed(f, 'a LOGIN {18+}\r\nb DELETE INBOX\r\n x\r\n');
    expect(show(ev)).toEqual([{ command: 'a LOGIN {18+}\r\nb DELETE INBOX\r\n x\r\n' }]);
  });

  it('pushing nothing does nothing; accept() and refuse() need a pending literal', () => {
    const f = new Framer();
    expect(f.push(Buffer.alloc(0))).toEqual([]);
    expect(() => f.accept()).toThrow();
    expect(() => f.refuse()).toThrow();
  });
});

describe('framer: IDLE and AUTHENTICATE lines', () => {
  it('DONE and base64 lines come as frames of their own', () => {
    const f = new Framer();
    expect(show(feed(f, 'a IDLE\r\nDONE\r\nb AUTHENTICATE PLAIN\r\nAGJvYgBw\r\n'))).toEqual([
      { command: 'a IDLE\r\n' },
      { command: 'DONE\r\n' },
      { command: 'b AUTHENTICATE PLAIN\r\n' },
      { command: 'AGJvYgBw\r\n' },
    ]);
  });
});

export type { FramerLimits };
