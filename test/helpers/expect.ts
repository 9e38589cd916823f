import { expect } from 'vitest';
import { InvalidInput } from '../../src/core/errors.js';

/** Runs `fn`, which must throw InvalidInput; returns the error for checks on its message. */
export function expectInvalid(fn: () => unknown): InvalidInput {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInput);
    return err as InvalidInput;
  }
  throw new Error('expected InvalidInput');
}
