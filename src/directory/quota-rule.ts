import { parseSize } from '../core/size.js';

export interface QuotaLimits {
  /** Bytes; null = unlimited. */
  bytes: number | null;
  messages: number | null;
}

/**
 * Reads the `*` (all mailboxes) rule from Dovecot quota rules, e.g. `*:storage=1024M`,
 * `*:bytes=1048576`, `*:storage=10M:messages=1000`. As in Dovecot's quota plugin, `storage=`
 * without a unit is in kilobytes, `bytes=` is in bytes, a limit of 0 means unlimited, and a later
 * rule overrides an earlier one. Mailbox-specific rules (`Trash:storage=+100M`) are for the mail
 * store and ignored here. Unparseable rules are ignored, as Dovecot logs and skips them.
 */
export function quotaFromRules(rules: readonly string[]): QuotaLimits {
  const limits: QuotaLimits = { bytes: null, messages: null };
  for (const rule of rules) {
    const [mailbox, ...parts] = rule.trim().split(':');
    if (mailbox !== '*' && mailbox !== '?') continue;
    for (const part of parts) {
      const [key = '', value = ''] = part.split('=', 2);
      try {
        if (key === 'storage') limits.bytes = nonZero(parseSize(value, 'K'));
        else if (key === 'bytes') limits.bytes = nonZero(parseSize(value, 'B'));
        else if (key === 'messages') limits.messages = nonZero(Number.parseInt(value, 10));
        else if (key === 'ignore' || key === 'noenforcing') limits.bytes = limits.messages = null;
      } catch {
        // unparseable value: skip this part, like Dovecot
      }
    }
  }
  return limits;
}

function nonZero(n: number): number | null {
  return Number.isFinite(n) && n > 0 ? n : null;
}

/** The rule that `tsmail user add --quota 1G` stores in a passwd-file. */
export function quotaRuleForBytes(bytes: number): string {
  return `*:bytes=${bytes}`;
}
