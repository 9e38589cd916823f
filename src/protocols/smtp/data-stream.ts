/** The DATA stream from smtp-server, as the delivery consumes it. */
import { Transform } from 'node:stream';
import type { SMTPServerDataStream } from 'smtp-server';
import { LineEnds, isCrlf } from '../../core/line-ends.js';

/**
 * The message as everything after DATA reads it: every line ending in CRLF (core/line-ends.ts:
 * a bare LF or a lone CR ends a line too), so that the checks made before storing (From of
 * submission, DMARC's From, forged Authentication-Results) see the very lines that are stored
 * and relayed; and failing once it grows past `max` bytes as sent. Piped, not iterated: an
 * iterator would destroy smtp-server's stream on the error, and with it the session.
 */
export function messageData(stream: SMTPServerDataStream, max: number): { out: Transform; readonly exceeded: boolean } {
  let total = 0;
  const state = { exceeded: false };
  const ends = new LineEnds('\r\n');
  const out = new Transform({
    transform(chunk: Buffer, _enc, done) {
      total += chunk.length;
      if (total > max) {
        state.exceeded = true;
        stream.unpipe(out);
        done(new Error('message too big'));
        return;
      }
      const text = chunk.toString('latin1');
      const last = chunk[chunk.length - 1];
      // The usual chunk (CRLF throughout, not ending in CR) passes as it came, without a copy.
      if (last !== 13 && last !== undefined && isCrlf(text) && !ends.holdsCr) return done(null, chunk);
      done(null, Buffer.from(ends.push(text), 'latin1'));
    },
    flush(done) {
      done(null, Buffer.from(ends.end(), 'latin1'));
    },
  });
  // A client gone mid-DATA: smtp-server destroys the stream; the message must fail, not end.
  stream.once('error', (err) => out.destroy(err));
  stream.once('close', () => {
    if (!stream.readableEnded) out.destroy(new Error('connection closed before the end of DATA'));
  });
  // The reader (the delivery) sees the error through its iterator; this keeps a late 'error'
  // event from counting as unhandled.
  out.on('error', () => {});
  stream.pipe(out);
  return { out, get exceeded() { return state.exceeded; } };
}

/** Reads what the client still sends, so the session can answer after its final dot. */
export function drain(stream: SMTPServerDataStream): Promise<void> {
  // A client gone mid-DATA leaves a destroyed stream that emits nothing more: waiting for it
  // would keep the session's handler, and all it holds, alive for good.
  if (stream.readableEnded || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
    stream.resume();
  });
}
