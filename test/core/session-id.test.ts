import { describe, expect, it } from 'vitest';
import { sessionIdSource } from '../../src/core/session-id.js';

describe('session ids', () => {
  it('are 16 base-32 characters, unique within a source and different for another start time', () => {
    const next = sessionIdSource(1_796_000_000_000);
    const ids = Array.from({ length: 5000 }, next);
    for (const id of ids) expect(id).toMatch(/^[0-9a-v]{16}$/);
    expect(new Set(ids).size).toBe(ids.length);
    const later = sessionIdSource(1_796_000_000_001)();
    expect(ids).not.toContain(later);
  });
});
