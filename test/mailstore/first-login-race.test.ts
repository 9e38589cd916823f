/**
 * A client opening several connections at once on a user's first login: every one of them opens
 * the mailbox (the special-use folders are created once; none fails with "already exists").
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMailStore } from '../../src/compose.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { tempDir } from '../helpers/tmp.js';

describe('first login of a user from several connections at once', () => {
  it('opens the mailbox in every one of them', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const config = parseConfig('', path.join(dir, 't.toml'));
      const store = createMailStore(config, silentLogger);
      const root = path.join(dir, 'u');
      const boxes = await Promise.all(Array.from({ length: 8 }, () => store.openMailbox(root, { bytes: null, messages: null })));
      const names = (await boxes[0]!.list()).map((f) => f.name);
      expect(names).toContain('Trash');
      expect(names).toContain('Sent');
      for (const b of boxes) await b.close();
    } finally {
      await cleanup();
    }
  });
});
