/**
 * RFC 8601 section 5: a receiving MTA should remove `Authentication-Results` fields that claim
 * to come from its own authserv-id, or a sender could write `dmarc=pass` for us and fool a
 * filter downstream. Only the header section is looked at; the body streams through untouched.
 */
import { Transform } from 'node:stream';

/** A header section larger than this is passed on as it is (no real mail has one). */
const MAX_HEADER = 256 * 1024;

export function stripOwnAuthResults(authservId: string): Transform {
  const id = authservId.toLowerCase();
  let head: Buffer[] = [];
  let headSize = 0;
  let done = false;
  const flushHead = (t: Transform, filter: boolean) => {
    const whole = Buffer.concat(head, headSize);
    head = [];
    done = true;
    if (!filter) return t.push(whole);
    const text = whole.toString('latin1');
    // The section with the line break of its last field, so that every field ends in one.
    const blank = /\r?\n\r?\n/.exec(text);
    const section = blank ? text.slice(0, blank.index + (text[blank.index] === '\r' ? 2 : 1)) : text;
    const rest = text.slice(section.length);
    // Split into fields: a line starting with white space continues the previous field.
    const fields = section.split(/(?<=\n)(?=[^ \t])/);
    const kept = fields.filter((f) => {
      const m = /^authentication-results:\s*([^\s;]+)/i.exec(f);
      return !m || m[1]!.toLowerCase() !== id;
    });
    t.push(Buffer.from(kept.join('') + rest, 'latin1'));
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (done) return cb(null, chunk);
      head.push(chunk);
      headSize += chunk.length;
      const seen = Buffer.concat(head, headSize);
      if (seen.indexOf('\r\n\r\n') >= 0 || seen.indexOf('\n\n') >= 0) flushHead(this, true);
      else if (headSize > MAX_HEADER) flushHead(this, false);
      cb();
    },
    flush(cb) {
      if (!done) flushHead(this, true);
      cb();
    },
  });
}
