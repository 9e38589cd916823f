import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PrivilegedFileReader } from '../../src/daemon/privileged-reader.js';
import { tempDir } from '../helpers/tmp.js';

describe('PrivilegedFileReader', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let reader: PrivilegedFileReader | undefined;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(async () => {
    reader?.close();
    await cleanup();
  });

  it('returns the current bytes of exactly the files it started with, one request at a time', async () => {
    const a = path.join(dir, 'cert.pem');
    const b = path.join(dir, 'key.pem');
    const binary = Buffer.from([0, 1, 2, 0xff, 0x0a, 0x2e, 0x0a, 0x0d]); // NUL, "\n.\n": not a frame end
    await writeFile(a, 'first\n');
    await writeFile(b, binary);
    reader = PrivilegedFileReader.start([a, b]);
    const [one, two] = await Promise.all([reader.read(), reader.read()]);
    expect(one).toEqual([Buffer.from('first\n'), binary]);
    expect(two).toEqual(one);
    await writeFile(a, '');
    expect((await reader.read())[0]).toEqual(Buffer.alloc(0));
  });

  it('names the file it cannot read, and keeps serving later requests', async () => {
    const a = path.join(dir, 'cert.pem');
    const b = path.join(dir, 'key.pem');
    await writeFile(a, 'c');
    reader = PrivilegedFileReader.start([a, b]);
    await expect(reader.read()).rejects.toThrow(`cannot read ${b}:`);
    await writeFile(b, 'k');
    expect((await reader.read()).map(String)).toEqual(['c', 'k']);
    await rm(a);
    await expect(reader.read()).rejects.toThrow(`cannot read ${a}:`);
  });

  it('ends when its input closes; later reads fail instead of hanging', async () => {
    await writeFile(path.join(dir, 'x'), 'x');
    reader = PrivilegedFileReader.start([path.join(dir, 'x')]);
    expect((await reader.read()).map(String)).toEqual(['x']);
    reader.close();
    await expect(reader.read()).rejects.toThrow(/has exited/);
  });
});
