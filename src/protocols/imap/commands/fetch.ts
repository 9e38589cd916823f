import { SELECTED, type CommandSpec } from '../command.js';
import { allSmall, renderFetch, smallRenderer } from '../fetch/respond.js';
import { namedSeqs } from '../messages.js';
import { no, ok } from '../replies.js';
import { withoutRecent } from '../selected.js';
import type { FetchItem } from '../types.js';

/** Body items that set \Seen (RFC 9051 6.4.5): BODY[...] and BINARY[...] without PEEK, RFC822, RFC822.TEXT. */
function setsSeen(item: FetchItem): boolean {
  if (item.kind === 'BODY[]' || item.kind === 'BINARY[]') return !item.section.peek;
  return item.kind === 'RFC822' || item.kind === 'RFC822.TEXT';
}

/**
 * RFC 9051 6.4.5 FETCH / 6.4.9 UID FETCH, with CHANGEDSINCE (RFC 7162 3.1.4). \Seen is set
 * before rendering so the response shows it (FLAGS added where it changed). Each piece of a
 * response (a literal comes from the file in chunks) waits for the socket's buffer to drain
 * below its limit, so a slow reader never makes the server hold more than that and one chunk.
 */
export const fetch: CommandSpec<'FETCH'> = {
  names: ['FETCH'],
  states: SELECTED,
  reportsChanges: (cmd) => cmd.uid,
  async run({ session }, cmd) {
    const s = session.selected!;
    const f = s.folder;
    let seqs = namedSeqs(f, cmd.set, cmd.uid);
    let items = cmd.items;
    if (cmd.uid && !items.some((i) => i.kind === 'UID')) items = [{ kind: 'UID' }, ...items];
    if (cmd.changedSince !== undefined) {
      session.condstore = true;
      const since = cmd.changedSince;
      seqs = seqs.filter((q) => (f.meta(f.uidAt(q))?.modseq ?? 0n) > since);
    }
    const seen = new Set<number>();
    if (!s.readOnly && items.some(setsSeen)) {
      const unseen = seqs.map((q) => f.uidAt(q)).filter((u) => !(f.meta(u)?.flags.includes('\\Seen') ?? true));
      if (unseen.length) {
        const { changed } = await f.setFlags(unseen, 'add', ['\\Seen']);
        s.toldFlags(changed);
        for (const m of changed) seen.add(m.uid);
      }
    }
    const withFlags: FetchItem[] = items.some((i) => i.kind === 'FLAGS') ? items : [...items, { kind: 'FLAGS' }];
    // RFC 7162 3.1.4.1: once CONDSTORE is on, every FETCH response carries MODSEQ.
    const opts = { utf8: session.utf8, includeModseq: session.condstore };
    const view = session.rev2 ? withoutRecent(f) : f;
    let gone = 0;
    // UID, FLAGS, sizes, dates, MODSEQ and cached ENVELOPE/BODY/BODYSTRUCTURE: rendered at once,
    // without a generator per message (FETCH 1:* over a big folder).
    const small = allSmall(items) && allSmall(withFlags) ? { plain: smallRenderer(items, opts), withFlags: smallRenderer(withFlags, opts) } : undefined;
    for (const seq of seqs) {
      if (small) {
        const uid = f.uidAt(seq);
        const text = (seen.has(uid) ? small.withFlags : small.plain)(view, seq, uid);
        if (text !== null) {
          if (text === undefined) gone++;
          else session.out.write(text);
          await session.out.drained();
          if (session.out.closed) break;
          continue;
        }
      }
      const uid = f.uidAt(seq);
      let wrote = false;
      try {
        for await (const piece of renderFetch(view, seq, uid, seen.has(uid) ? withFlags : items, opts)) {
          wrote = true;
          session.out.write(piece);
          // Per piece, not per message: a 50 MB literal to a slow reader must not pile up here.
          await session.out.drained();
        }
      } catch (err) {
        // Half a response (a literal announced and not all sent) cannot be taken back.
        if (wrote) {
          session.log.warn({ uid, err: (err as Error).message }, 'message vanished while being sent; closing the connection');
          session.out.abort();
        }
        throw err;
      }
      if (!wrote) gone++;
      await session.out.drained();
      if (session.out.closed) break;
    }
    // Removed by another session or process and not yet reported as EXPUNGE (Dovecot's reply).
    if (gone && !cmd.uid) return no('Some of the requested messages no longer exist.', 'EXPUNGEISSUED');
    return ok('Fetch completed.');
  },
};
