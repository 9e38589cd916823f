/**
 * Substring search over text that arrives in pieces: a match may straddle two pieces, so the
 * last (key length - 1) characters of what was seen are kept for the next piece. Keys and text
 * are compared after searchFold().
 */
import { searchFold } from './fold.js';

export class StreamFinder {
  private tail = '';
  found = false;

  /** `key` is already folded and not empty. */
  constructor(readonly key: string) {}

  /** Feeds folded text; true once the key was seen (since the last reset). */
  feedFolded(text: string): boolean {
    if (this.found || text === '') return this.found;
    const hay = this.tail + text;
    if (hay.includes(this.key)) {
      this.found = true;
      this.tail = '';
      return true;
    }
    const keep = this.key.length - 1;
    this.tail = keep > 0 ? hay.slice(Math.max(0, hay.length - keep)) : '';
    return false;
  }

  feed(text: string): boolean {
    return this.found || this.feedFolded(searchFold(text));
  }

  /** A new MIME part starts: Dovecot's str_find_reset(), no match across parts. */
  resetContext(): void {
    this.tail = '';
  }
}
