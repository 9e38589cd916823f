/** The MariaDB test helper's behaviour when the server binaries are missing. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { findMariaDbBinaries, mariadbSkipReason } from '../helpers/mariadb.js';

describe('mariadb helper without binaries', () => {
  const savedCi = process.env.CI;
  afterEach(() => {
    if (savedCi === undefined) delete process.env.CI;
    else process.env.CI = savedCi;
    vi.restoreAllMocks();
  });

  it('finds nothing in directories without the binaries', () => {
    expect(findMariaDbBinaries(['/nonexistent-dir'])).toBeNull();
  });

  it('skips with a printed reason outside CI', () => {
    delete process.env.CI;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(mariadbSkipReason(null)).toBe('mariadbd not found; apt-get install mariadb-server');
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('mariadbd not found; apt-get install mariadb-server'));
  });

  it('fails instead of skipping when CI=true', () => {
    process.env.CI = 'true';
    expect(() => mariadbSkipReason(null)).toThrow(/mariadbd not found; apt-get install mariadb-server/);
  });

  it('does not skip when the binaries are there', () => {
    expect(mariadbSkipReason({ mariadbd: '/x/mariadbd', installDb: '/x/mariadb-install-db' })).toBeNull();
  });
});
