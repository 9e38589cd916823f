/**
 * Postfix sender_bcc_maps / recipient_bcc_maps (seed 004): a blind copy of mail from or to an
 * address goes to another address. Keys are looked up as Postfix does for address tables:
 * `user+ext@domain`, then `user@domain` (extension dropped), then `@domain`.
 */
import { stripExtension } from '../core/address.js';

export class BccMaps {
  private readonly sender: ReadonlyMap<string, string>;
  private readonly recipient: ReadonlyMap<string, string>;

  constructor(sender: Readonly<Record<string, string>>, recipient: Readonly<Record<string, string>>, private readonly delimiter: string) {
    const lower = (m: Readonly<Record<string, string>>) => new Map(Object.entries(m).map(([k, v]) => [k.toLowerCase(), v]));
    this.sender = lower(sender);
    this.recipient = lower(recipient);
  }

  get empty(): boolean {
    return this.sender.size === 0 && this.recipient.size === 0;
  }

  /** Extra recipients for one message, without any that are recipients already. */
  copiesFor(sender: string, recipients: readonly string[]): string[] {
    const out = new Set<string>();
    if (sender) {
      const bcc = this.find(this.sender, sender);
      if (bcc) out.add(bcc);
    }
    for (const r of recipients) {
      const bcc = this.find(this.recipient, r);
      if (bcc) out.add(bcc);
    }
    const already = new Set(recipients.map((r) => r.toLowerCase()));
    return [...out].filter((a) => !already.has(a.toLowerCase()));
  }

  private find(map: ReadonlyMap<string, string>, address: string): string | undefined {
    const a = address.toLowerCase();
    const at = a.lastIndexOf('@');
    if (at < 0) return map.get(a);
    const local = a.slice(0, at);
    const domain = a.slice(at);
    const base = stripExtension(local, this.delimiter);
    return map.get(a) ?? (base !== null ? map.get(base + domain) : undefined) ?? map.get(domain);
  }
}
