/**
 * Rewrites the header section of a message as it streams through (header-fields.ts splits it):
 * each field is kept or removed by `rules.keep`, lines can be added at the end of the section,
 * and the body passes untouched (after the section, chunks go through as they came, uncopied).
 * What stays is byte for byte what came in.
 */
import { Transform } from 'node:stream';
import { type HeaderField, type HeaderPiece, HeaderSplitter } from './header-fields.js';

export interface HeaderRules {
  /** Keep this field? A field larger than the splitter's limit is decided on its first part. */
  keep(field: HeaderField): boolean;
  /** CRLF-terminated header lines to add at the end of the section; asked once, when it is over. */
  append?(): string;
}

export function headerFilter(rules: HeaderRules, fieldLimit?: number): Transform {
  const splitter = new HeaderSplitter(fieldLimit);
  let keepingCurrent = true;
  /** The last byte written, to give an unterminated last field its line break before additions. */
  let lastOut = '\n';
  const render = (pieces: HeaderPiece[]): string => {
    let out = '';
    for (const p of pieces) {
      switch (p.kind) {
        case 'field':
          keepingCurrent = rules.keep(p.field);
          if (keepingCurrent) out += p.field.raw;
          break;
        case 'more':
          if (keepingCurrent) out += p.raw;
          break;
        case 'end': {
          const added = rules.append?.() ?? '';
          if (added) {
            const last = out ? out[out.length - 1] : lastOut;
            if (last !== '\n') out += '\r\n';
            out += added;
          }
          out += p.raw;
          break;
        }
        case 'body':
          out += p.raw;
          break;
      }
    }
    if (out) lastOut = out[out.length - 1]!;
    return out;
  };
  // A rule that throws fails the message (the stream errors), never the process.
  const emit = (pieces: () => HeaderPiece[], done: (err?: Error | null, data?: Buffer) => void) => {
    let out: string;
    try {
      out = render(pieces());
    } catch (err) {
      return done(err as Error);
    }
    done(null, out ? Buffer.from(out, 'latin1') : undefined);
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (splitter.body) return done(null, chunk);
      emit(() => splitter.push(chunk.toString('latin1')), done);
    },
    flush(done) {
      emit(() => splitter.end(), done);
    },
  });
}
