import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnFixture } from '../helpers/child.js';
import { freePorts } from '../helpers/daemon.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * What `tsmail serve` loads before it is needed costs memory for the life of the process
 * (bench/footprint.ts). Packages only some configurations use are loaded on first use: the
 * self-signed certificate generator only when there is no certificate yet, mysql2 only with the
 * MySQL directory and only at its first lookup, mailauth only for the first message it checks.
 */
const LISTENERS = ['smtp', 'submission', 'submissions', 'lmtp', 'imap', 'imaps', 'pop3', 'pop3s'] as const;

async function loadedPackages(config: string, smtpPort: number): Promise<string[]> {
  const child = spawnFixture('test/daemon/fixtures/serve-packages.ts', [config, String(smtpPort)], ['ignore', 'pipe', 'pipe']);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const line = /^PACKAGES (.*)$/m.exec(out);
  if (code !== 0 || !line) throw new Error(`serve fixture exited with ${code}:\n${out}`);
  return JSON.parse(line[1]!) as string[];
}

describe('tsmail serve loads packages when they are needed', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  async function config(extra = ''): Promise<{ file: string; smtp: number }> {
    const ports = await freePorts(LISTENERS.length);
    const file = path.join(dir, 'tsmail.toml');
    const listen = LISTENERS.map((n, i) => `${n} = "127.0.0.1:${ports[i]}"`).join('\n');
    await writeFile(file, `hostname = "mx.example.test"\ndata_dir = "data"\n[listen]\n${listen}\n[log]\nlevel = "warn"\n${extra}`);
    return { file, smtp: ports[0]! };
  }

  it('generates the self-signed certificate with selfsigned on the first start only; never loads mysql2 for a passwd-file directory', async () => {
    await mkdir(path.join(dir, 'data'));
    await writeFile(path.join(dir, 'data/users'), 'alice@example.test:{PLAIN}x:::::\n');
    const first = await config();
    const atFirst = await loadedPackages(first.file, first.smtp);
    expect(atFirst).toContain('selfsigned'); // the check sees a package that was loaded
    expect(atFirst).not.toContain('mysql2');

    const second = await config();
    const atSecond = await loadedPackages(second.file, second.smtp);
    expect(atSecond).not.toContain('selfsigned');
    expect(atSecond).not.toContain('mysql2');
    // SPF/DKIM/DMARC checks are on (the default), but no message has come in yet.
    expect(atSecond).not.toContain('mailauth');
  });

  it('does not load mysql2 at start with the MySQL directory either (first lookup does)', async () => {
    await mkdir(path.join(dir, 'data/tls'), { recursive: true });
    // Nothing listens there: a start must not need the database.
    const c = await config('[directory]\nbackend = "mysql"\n[directory.mysql]\nsocket = "/nonexistent/mysqld.sock"\n');
    const packages = await loadedPackages(c.file, c.smtp);
    expect(packages).not.toContain('mysql2');
  });
});
