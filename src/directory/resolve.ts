import { normalizeAddress, stripExtension } from '../core/address.js';
import { InvalidInput, TempFailure } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { DirectoryBackend, Resolution } from './types.js';

/** Postfix's defaults are 1000/1000; real alias trees are a few levels deep. */
const MAX_DEPTH = 100;
const MAX_EXPANSION = 1000;

/**
 * Virtual alias expansion with Postfix virtual(5) semantics, over any backend:
 *  - lookup order for `user+ext@domain`: `user+ext@domain`, `user@domain`, then the mailbox
 *    itself, then the catch-all `@domain`. An existing mailbox beats the catch-all, which is what
 *    the seeds get from their `email2email` map / PostfixAdmin self-aliases;
 *  - expansion is recursive; an address aliased to itself terminates (virtual(5): "to terminate
 *    recursion for a specific address, alias that address to itself"); loops are cut;
 *  - a result `@otherdomain` means "the same user in otherdomain" (virtual(5) result rewriting),
 *    and alias domains (PostfixAdmin alias_domain) rewrite the domain the same way;
 *  - results in domains that are not ours are forwards.
 */
export class AliasResolver {
  constructor(
    private readonly backend: DirectoryBackend,
    private readonly delimiter: string,
    private readonly log: Logger,
  ) {}

  async isOurDomain(domain: string): Promise<boolean> {
    return (await this.backend.isLocalDomain(domain)) || (await this.backend.aliasDomainTarget(domain)) !== null;
  }

  async resolve(input: string): Promise<Resolution> {
    const address = normalizeAddress(input);
    if (!(await this.isOurDomain(domainOf(address)))) return { kind: 'foreign' };
    const state = { mailboxes: new Set<string>(), forwards: new Set<string>(), seen: new Set<string>(), steps: 0 };
    await this.expand(address, 0, state);
    if (state.mailboxes.size === 0 && state.forwards.size === 0) return { kind: 'unknown' };
    return { kind: 'deliver', mailboxes: [...state.mailboxes], forwards: [...state.forwards] };
  }

  private async expand(address: string, depth: number, state: ExpandState): Promise<void> {
    if (++state.steps > MAX_EXPANSION || depth > MAX_DEPTH) {
      throw new TempFailure('unreasonable virtual alias expansion', { address, depth });
    }
    const local = address.slice(0, address.lastIndexOf('@'));
    const domain = domainOf(address);
    if (!(await this.isOurDomain(domain))) {
      state.forwards.add(address);
      return;
    }
    if (state.seen.has(address)) return this.terminal(address, state);
    state.seen.add(address);

    const base = stripExtension(local, this.delimiter);
    const baseAddress = base === null ? null : `${base}@${domain}`;
    const targets =
      (await this.lookup(address)) ??
      (baseAddress !== null ? await this.lookup(baseAddress) : null);
    if (targets) return this.follow(targets, local, new Set([address, baseAddress]), depth, state);

    if (await this.backend.mailboxExists(address)) return void state.mailboxes.add(address);
    if (baseAddress !== null && (await this.backend.mailboxExists(baseAddress))) return void state.mailboxes.add(baseAddress);

    const catchAll = await this.lookup(`@${domain}`);
    if (catchAll) return this.follow(catchAll, base ?? local, new Set(), depth, state);

    const target = await this.backend.aliasDomainTarget(domain);
    if (target) return this.expand(normalizeAddress(`${base ?? local}@${target}`), depth + 1, state);
    // A local domain with nothing at this address: contributes nothing (unknown if alone).
  }

  private async follow(targets: string[], local: string, self: Set<string | null>, depth: number, state: ExpandState): Promise<void> {
    for (const raw of targets) {
      let target: string;
      try {
        target = normalizeAddress(raw.startsWith('@') ? `${local}${raw}` : raw);
      } catch (err) {
        if (!(err instanceof InvalidInput)) throw err;
        this.log.warn({ target: raw }, 'ignoring invalid alias destination');
        continue;
      }
      if (self.has(target)) await this.terminal(target, state);
      else await this.expand(target, depth + 1, state);
    }
  }

  /** An address that ends expansion (aliased to itself, or reached again): its own mailbox or nothing. */
  private async terminal(address: string, state: ExpandState): Promise<void> {
    if (await this.backend.mailboxExists(address)) state.mailboxes.add(address);
    else if (!(await this.isOurDomain(domainOf(address)))) state.forwards.add(address);
  }

  private async lookup(key: string): Promise<string[] | null> {
    const targets = await this.backend.aliasTargets(key);
    return targets.length ? targets : null;
  }
}

interface ExpandState {
  mailboxes: Set<string>;
  forwards: Set<string>;
  seen: Set<string>;
  steps: number;
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}
