import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMailStore } from '../../src/compose.js';
import { parseConfig } from '../../src/config/load.js';
import { QuotaExceeded } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { tempDir } from '../helpers/tmp.js';

describe('mail store from the config', () => {
  it('creates the configured special-use folders and gives Trash its extra room', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const config = parseConfig('[mail]\ntrash_quota_extra = 400\n[mail.folders]\njunk = "Spam"\narchive = "Archive"\ndrafts = ""\n', path.join(dir, 't.toml'));
      const store = createMailStore(config, silentLogger);
      const box = await store.openMailbox(path.join(dir, 'u'), { bytes: 100, messages: null });
      const list = await box.list();
      expect(list.map((f) => [f.name, f.attributes.at(-1), f.subscribed])).toEqual([
        ['INBOX', '\\HasNoChildren', false],
        ['Archive', '\\Archive', true],
        ['Sent', '\\Sent', true],
        ['Spam', '\\Junk', true],
        ['Trash', '\\Trash', true],
      ]);
      const msg = Buffer.from('Subject: x\r\n\r\n' + 'y'.repeat(150) + '\r\n');
      await expect(box.append('INBOX', msg)).rejects.toBeInstanceOf(QuotaExceeded);
      await expect(box.append('Trash', msg)).resolves.toMatchObject({ uid: 1 });
      await box.close();
    } finally {
      await cleanup();
    }
  });
});
