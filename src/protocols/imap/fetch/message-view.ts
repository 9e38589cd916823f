/**
 * What one FETCH response needs to know about one message, each thing computed at most once per
 * response and taken from the folder's shared cache when another session (or an earlier FETCH)
 * computed it: ENVELOPE, BODY, BODYSTRUCTURE strings and the section offsets. The message file
 * is parsed at most once per response; ENVELOPE alone reads only the header.
 */
import type { Folder } from '../../../mailstore/types.js';
import { structure } from './bodystructure.js';
import { renderEnvelope } from './envelope.js';
import { parseHeader } from './header.js';
import { parseMime, parseRootHeader, type MimePart } from './mime-tree.js';
import { decodeTree, encodeTree, type MimeNode } from './tree-cache.js';

export type CachedItem = 'envelope' | 'body' | 'bodystructure';

/**
 * Cache keys carry a version: the cache outlives restarts (tsmail.cache), so a release that
 * renders differently must not serve what an older one stored.
 */
const VERSION = 1;
export const cacheKey = (item: CachedItem | 'mimetree') => `${item}/${VERSION}`;

export class MessageView {
  private full?: Promise<MimePart>;
  private header?: Promise<MimePart>;
  private offsets?: Promise<MimeNode>;

  constructor(
    private readonly folder: Folder,
    readonly uid: number,
  ) {}

  /** The complete tree, parsed once (and the derived strings cached for everyone). */
  private tree(): Promise<MimePart> {
    this.full ??= (async () => {
      const root = await parseMime(await this.folder.read(this.uid));
      this.store(cacheKey('mimetree'), encodeTree(root));
      return root;
    })();
    return this.full;
  }

  private rootHeader(): Promise<MimePart> {
    this.header ??= this.full ?? (async () => parseRootHeader(await this.folder.read(this.uid)))();
    return this.header;
  }

  private store(key: string, value: string): void {
    this.folder.cacheSet(this.uid, key, value);
  }

  /** ENVELOPE / BODY / BODYSTRUCTURE as bytes (cached as latin1 strings: lossless). */
  async item(key: CachedItem): Promise<Buffer> {
    const cached = this.folder.cacheGet(this.uid, cacheKey(key));
    if (cached !== undefined) return Buffer.from(cached, 'latin1');
    const value = key === 'envelope' ? renderEnvelope(parseHeader((await this.rootHeader()).header)) : structure(await this.tree(), key === 'bodystructure');
    this.store(cacheKey(key), value.toString('latin1'));
    return value;
  }

  /** Offsets of every part, for BODY[section]. */
  nodes(): Promise<MimeNode> {
    this.offsets ??= (async () => {
      const cached = this.folder.cacheGet(this.uid, cacheKey('mimetree'));
      const decoded = cached === undefined ? undefined : decodeTree(cached);
      return decoded ?? (await this.tree());
    })();
    return this.offsets;
  }
}
