/**
 * The selected mailbox as one session sees it: the folder's view (sequence numbers change only
 * in sync(), at the points where the protocol lets them), and what this session already told
 * its client, so that its own STORE is not reported back to it a second time.
 */
import type { Folder, MessageMeta } from '../../mailstore/types.js';

/** What the session reports through (kept narrow: the session's untagged writer and modes). */
export interface Reporter {
  untagged(text: string): void;
  readonly condstore: boolean;
  readonly rev2: boolean;
}

export class SelectedMailbox {
  /** UID → modseq of flag changes this session made and already answered (STORE). */
  private readonly told = new Map<number, bigint>();

  constructor(readonly folder: Folder, readonly name: string, readonly readOnly: boolean) {}

  /** A STORE's own changes, answered in its FETCH responses (or silenced by .SILENT). */
  toldFlags(changed: readonly MessageMeta[]): void {
    for (const m of changed) this.told.set(m.uid, m.modseq);
  }

  /**
   * Syncs the view and reports the difference: EXPUNGE (ascending, each number as the client
   * counts after the ones before), EXISTS and RECENT when messages came, FETCH FLAGS for flag
   * changes made elsewhere (RFC 9051 7.5.1, 7.3.1, 7.5.2; RFC 7162 3.2 wants UID and MODSEQ).
   */
  async report(out: Reporter): Promise<void> {
    const f = this.folder;
    const changes = await f.sync();
    if (changes.expunged.length) {
      const gone = [...changes.expunged].sort((a, b) => a - b);
      for (const uid of gone) {
        this.told.delete(uid);
        out.untagged(`${rankBelow(f, uid) + 1} EXPUNGE`);
      }
    }
    if (changes.added.length) {
      out.untagged(`${f.count()} EXISTS`);
      if (!out.rev2) out.untagged(`${f.status().recent} RECENT`);
    }
    const added = new Set(changes.added);
    for (const m of changes.flagged) {
      if (added.has(m.uid)) continue;
      const seq = f.seqOf(m.uid);
      if (!seq) continue;
      const now = f.meta(m.uid) ?? m;
      if (this.told.get(m.uid) === now.modseq) continue;
      this.told.delete(m.uid);
      out.untagged(`${seq} FETCH (${flagItems(f, now, out.condstore, out.rev2)})`);
    }
  }
}

/** `UID n FLAGS (...) [MODSEQ (m)]` for an unsolicited or STORE FETCH response. */
export function flagItems(f: Folder, m: MessageMeta, condstore: boolean, rev2: boolean): string {
  return `UID ${m.uid} FLAGS ${flagList(flagsWithRecent(f, m, rev2))}${condstore ? ` MODSEQ (${m.modseq})` : ''}`;
}

/** IMAP4rev1 sessions see \Recent; IMAP4rev2 has none (RFC 9051 appendix E). */
export function flagsWithRecent(f: Folder, m: MessageMeta, rev2: boolean): string[] {
  return !rev2 && f.isRecent(m.uid) ? [...m.flags, '\\Recent'] : [...m.flags];
}

/** Dovecot's order (imap-util.c imap_write_flags): system flags, then keywords as stored. */
const SYSTEM_ORDER = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft', '\\Recent'];

export function flagList(flags: readonly string[]): string {
  const system = SYSTEM_ORDER.filter((f) => flags.includes(f));
  return `(${[...system, ...flags.filter((f) => !f.startsWith('\\'))].join(' ')})`;
}

/** How many messages in the view have a UID below `uid` (binary search over the view). */
export function rankBelow(f: Folder, uid: number): number {
  let lo = 0;
  let hi = f.count();
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (f.uidAt(mid + 1) < uid) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The folder as an IMAP4rev2 session renders it: no \Recent (RFC 9051 appendix E). */
export function withoutRecent(f: Folder): Folder {
  return new Proxy(f, { get: (target, prop, receiver) => (prop === 'isRecent' ? () => false : Reflect.get(target, prop, receiver)) });
}
