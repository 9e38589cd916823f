/**
 * The messages a FETCH/STORE/COPY/MOVE/UID EXPUNGE names, in the session's view. A message
 * sequence number beyond the mailbox is a client error (RFC 9051 6.4.5: BAD, as Dovecot
 * "Invalid messageset"); UIDs that are gone are skipped (RFC 9051 6.4.9).
 */
import type { Folder } from '../../mailstore/types.js';
import { beyond, selectSeqs } from './sequence-set.js';
import type { SequenceSet } from './types.js';

export class InvalidMessageSet extends Error {}

export function namedSeqs(folder: Folder, set: SequenceSet, uid: boolean): number[] {
  if (!uid) {
    const count = folder.count();
    // `1:*` in an empty mailbox (what clients send to fetch "everything") names nothing: no error.
    if (count === 0 && set.ranges.every((r) => r.from === '*' || r.to === '*')) return [];
    if (count === 0 || beyond(set, count)) throw new InvalidMessageSet('Invalid messageset');
  }
  return selectSeqs(set, uid, folder);
}
