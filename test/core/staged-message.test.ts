import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StagedMessage, withHead } from '../../src/core/staged-message.js';
import { tempDir } from '../helpers/tmp.js';

const read = async (s: NodeJS.ReadableStream) => {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.from(c as Buffer));
  return Buffer.concat(parts);
};

describe('StagedMessage', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let n = 0;
  const opts = (memoryLimit: number) => ({ memoryLimit, spillPath: () => path.join(dir, `spill-${n++}`) });
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(async () => cleanup());

  const message = Buffer.concat([Buffer.from('Subject: hi\r\nX-Bin: \xff\x00\r\n\r\n', 'latin1'), Buffer.alloc(300_000, 0x61)]);
  const chunks = () => Readable.from(Array.from({ length: Math.ceil(message.length / 16384) }, (_, i) => message.subarray(i * 16384, (i + 1) * 16384)));

  it('keeps a small message in memory and reads it back byte for byte, any number of times', async () => {
    const s = await StagedMessage.from(chunks(), opts(1 << 20));
    expect(await readdir(dir)).toEqual([]);
    expect(s.size).toBe(message.length);
    expect((await read(s.stream())).equals(message)).toBe(true);
    expect((await read(s.stream())).equals(message)).toBe(true);
    expect(s.buffer()!.equals(message)).toBe(true);
    await s.dispose();
  });

  it('spills a large message to a private file, removed on dispose', async () => {
    const s = await StagedMessage.from(chunks(), opts(50_000));
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    expect(s.buffer()).toBeNull();
    expect((await read(s.stream())).equals(message)).toBe(true);
    await s.dispose();
    expect(await readdir(dir)).toEqual([]);
  });

  it('removes the spill file when the stream fails midway, and rethrows', async () => {
    const failing = Readable.from((async function* () {
      yield message.subarray(0, 100_000);
      throw new Error('client went away');
    })());
    await expect(StagedMessage.from(failing, opts(50_000))).rejects.toThrow('client went away');
    expect(await readdir(dir)).toEqual([]);
  });

  it('puts header lines on top with withHead', async () => {
    const s = await StagedMessage.from(chunks(), opts(1 << 20));
    const out = await read(withHead('Received: x\r\n', s.stream()));
    expect(out.subarray(0, 13).toString()).toBe('Received: x\r\n');
    expect(out.subarray(13).equals(message)).toBe(true);
  });
});
