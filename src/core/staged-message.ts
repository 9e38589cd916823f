/**
 * A message taken in once and read several times (authentication checks, local delivery, the
 * outbound spool). Small messages stay in memory; past `memoryLimit` the rest goes to a private
 * file, so fifty clients sending 50 MB each do not take 2.5 GB of memory. The file is scratch
 * space, not a durability promise: delivery and the spool make their own fsynced copies.
 */
import { createReadStream } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

export interface StageOptions {
  /** A fresh path for the spill file, on a filesystem the process may write. */
  spillPath: () => string;
  /** Bytes kept in memory before spilling to the file. */
  memoryLimit: number;
}

export class StagedMessage {
  private constructor(
    private readonly chunks: Buffer[],
    private readonly file: string | null,
    readonly size: number,
  ) {}

  /** Reads the stream to its end; on a stream error the spill file is removed and the error thrown. */
  static async from(stream: NodeJS.ReadableStream, opts: StageOptions): Promise<StagedMessage> {
    const chunks: Buffer[] = [];
    let inMemory = 0;
    let size = 0;
    let file: string | null = null;
    let fh: FileHandle | null = null;
    try {
      for await (const data of stream) {
        const chunk = typeof data === 'string' ? Buffer.from(data) : (data as Buffer);
        size += chunk.length;
        if (!fh && inMemory + chunk.length > opts.memoryLimit) {
          file = opts.spillPath();
          fh = await open(file, 'wx', 0o600);
          for (const c of chunks) await fh.write(c);
          chunks.length = 0;
        }
        if (fh) {
          await fh.write(chunk);
        } else {
          chunks.push(chunk);
          inMemory += chunk.length;
        }
      }
    } catch (err) {
      await fh?.close();
      if (file) await unlink(file).catch(() => {});
      throw err;
    }
    await fh?.close();
    return new StagedMessage(chunks, file, size);
  }

  /** A new stream over the whole message. */
  stream(): NodeJS.ReadableStream {
    if (this.file) return createReadStream(this.file, { highWaterMark: 256 * 1024 });
    return Readable.from(this.chunks, { objectMode: false });
  }

  /**
   * The whole message in one buffer, when it is held in memory (else null). Joined once: the
   * checks and the delivery both ask for it.
   */
  buffer(): Buffer | null {
    if (this.file) return null;
    if (this.chunks.length !== 1) this.chunks.splice(0, this.chunks.length, Buffer.concat(this.chunks, this.size));
    return this.chunks[0]!;
  }

  async dispose(): Promise<void> {
    this.chunks.length = 0;
    if (this.file) await unlink(this.file).catch(() => {});
  }
}

/** `head` followed by the message, as one stream (header lines put on top of a stored message). */
export function withHead(head: string, body: NodeJS.ReadableStream): NodeJS.ReadableStream {
  if (!head) return body;
  return Readable.from((async function* () {
    yield Buffer.from(head, 'utf8');
    for await (const chunk of body) yield typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
  })(), { objectMode: false });
}
