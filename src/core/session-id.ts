/**
 * Session ids for the logs and `250 … queued as <id>`: the process's start time and a counter,
 * both in base 32, 16 characters (as smtp-server's own ids, which cost a 10-byte random draw and
 * a BigInt conversion per connection). One source is shared by all listeners of a process, so
 * ids are unique in it; the start time makes them differ from those of earlier runs.
 */
export function sessionIdSource(startMs: number = Date.now()): () => string {
  const prefix = Math.floor(startMs).toString(32).padStart(9, '0').slice(-9);
  let seq = 0;
  return () => prefix + (seq++).toString(32).padStart(7, '0');
}
