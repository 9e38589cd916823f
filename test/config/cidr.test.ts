import { describe, expect, it } from 'vitest';
import { NetworkList } from '../../src/core/cidr.js';

describe('mynetworks lists', () => {
  const seed = new NetworkList(['127.0.0.0/8', '[::ffff:127.0.0.0]/104', '[::1]/128', '192.0.2.7']);
  it('matches the seed 001 mynetworks, IPv4-mapped addresses included', () => {
    for (const ip of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1', '192.0.2.7']) expect(seed.has(ip), ip).toBe(true);
    for (const ip of ['128.0.0.1', '192.0.2.8', '::2', '::ffff:10.0.0.1', 'garbage', '']) expect(seed.has(ip), ip).toBe(false);
  });
  it('refuses bad entries', () => {
    expect(() => new NetworkList(['localhost'])).toThrow(RangeError);
    expect(() => new NetworkList(['10.0.0.0/33'])).toThrow(RangeError);
  });
});
