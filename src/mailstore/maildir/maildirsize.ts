/**
 * `maildirsize`: the Maildir++ quota file at the mail root, as Dovecot 2.3's quota plugin reads
 * and writes it (src/plugins/quota/quota-maildir.c).
 *
 *   1048576S,1000C     limits: bytes `S`, messages `C`, comma-separated; 0 or absent = unlimited
 *   304 10             usage at the last recalculation
 *   32 1               one line per change, appended with O_APPEND: "<bytes> <count>"
 *   -30 -1             (negative for expunges)
 *
 * - Dovecot writes the limits as `<bytes>S` when bytes are limited or nothing is, then
 *   `,<count>C` / `<count>C` when messages are limited: no limits is `0S` (maildirsize_write).
 *   A recalculated file is the limits line plus one `<bytes> <count>` line, written to a temp file
 *   and renamed. Changes append `"%lld %d\n"`, none for a zero change (maildirsize_update).
 * - Usage = the sum of all lines after the first. Reading (maildirsize_read/_parse) ignores a
 *   last line without LF; the file must be recalculated when it is 5120 bytes or more, contains a
 *   NUL, a line that is not two numbers (a blank line too), sums below zero, limits other than the
 *   configured ones (for a `quota_rule = *:...` default rule), or when the sums exceed a limit and
 *   the file has more than one usage line or is older than 15 minutes.
 * - Recalculating sums `,S=<size>` of every file name in new/ and cur/ of every folder (stat()
 *   size when the name has none; not tmp/; folders with an `ignore` rule skipped) and is only
 *   trusted if no new/ or cur/ changed its mtime during the scan. That I/O belongs to the store;
 *   this file holds the pure rules.
 */

export interface QuotaLimits {
  /** Byte limit, 0 = unlimited. */
  bytes: number;
  /** Message limit, 0 = unlimited. */
  count: number;
}

export interface QuotaUsage {
  bytes: number;
  count: number;
}

/** Dovecot's read buffer: a file this large or larger is recalculated. */
export const MAILDIRSIZE_MAX_BYTES = 5120;
/** An over-quota file older than this is not trusted (MAILDIRSIZE_STALE_SECS). */
export const MAILDIRSIZE_STALE_MS = 15 * 60 * 1000;

/** maildir_parse_limit(): `<n>S` / `<n>C` items; bad items are ignored, 0 means unlimited. */
export function parseLimits(line: string): QuotaLimits {
  const limits: QuotaLimits = { bytes: 0, count: 0 };
  for (const item of line.split(',')) {
    const m = /^([0-9]+)([SC])$/.exec(item);
    if (!m) continue;
    const value = Math.min(Number(m[1]), Number.MAX_SAFE_INTEGER);
    if (value === 0) continue;
    if (m[2] === 'S') limits.bytes = value;
    else limits.count = value;
  }
  return limits;
}

/** The limits line as maildirsize_write() writes it (without LF). */
export function formatLimits(limits: QuotaLimits): string {
  const parts: string[] = [];
  if (limits.bytes !== 0 || limits.count === 0) parts.push(`${limits.bytes}S`);
  if (limits.count !== 0) parts.push(`${limits.count}C`);
  return parts.join(',');
}

/** A whole recalculated file. */
export function formatMaildirsize(limits: QuotaLimits, usage: QuotaUsage): string {
  for (const n of [limits.bytes, limits.count, usage.bytes, usage.count]) {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`bad maildirsize value ${n}`);
  }
  return `${formatLimits(limits)}\n${usage.bytes} ${usage.count}\n`;
}

/** The line to append for a change; '' for no change (Dovecot writes nothing then). */
export function formatMaildirsizeDelta(bytes: number, count: number): string {
  if (!Number.isSafeInteger(bytes) || !Number.isSafeInteger(count)) throw new RangeError('bad quota change');
  return bytes === 0 && count === 0 ? '' : `${bytes} ${count}\n`;
}

export type RecalcReason = 'missing' | 'too-large' | 'nul' | 'bad-line' | 'negative' | 'limits-changed' | 'over-quota-unsure';

export type MaildirsizeState =
  | { valid: true; limits: QuotaLimits; usage: QuotaUsage; usageLines: number }
  | { valid: false; reason: RecalcReason; limits?: QuotaLimits };

export interface MaildirsizeCheck {
  /** Limits from the configuration's forced default rule (`*:storage=...`); omit to use the file's. */
  configured?: QuotaLimits;
  /** The file's mtime (ms); needed for the over-quota age rule. */
  mtimeMs: number;
  nowMs: number;
}

/**
 * Reads a maildirsize file the way Dovecot decides whether to trust it. `content` undefined means
 * the file does not exist. A `valid: false` result means: recalculate and write a new file
 * (with `configured` limits, or else the file's `limits` when it had any).
 */
export function readMaildirsize(content: Uint8Array | string | undefined, check: MaildirsizeCheck): MaildirsizeState {
  if (content === undefined) return { valid: false, reason: 'missing' };
  const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
  if (buf.length >= MAILDIRSIZE_MAX_BYTES) return { valid: false, reason: 'too-large' };
  let end = buf.lastIndexOf(0x0a); // a last line without LF is not read
  if (end < 0) end = 0;
  const text = buf.subarray(0, end).toString('latin1');
  if (text.includes('\0')) return { valid: false, reason: 'nul' };

  const [header = '', ...usageLines] = text.split('\n');
  const fileLimits = parseLimits(header);
  if (check.configured && (check.configured.bytes !== fileLimits.bytes || check.configured.count !== fileLimits.count)) {
    return { valid: false, reason: 'limits-changed', limits: fileLimits };
  }
  const limits = check.configured ?? fileLimits;
  if (text === '' && usageLines.length === 0) return { valid: true, limits, usage: { bytes: 0, count: 0 }, usageLines: 0 };

  let bytes = 0;
  let count = 0;
  for (const line of usageLines) {
    // sscanf("%lld %d"): leading blanks, optional sign, trailing garbage ignored
    const m = /^\s*([+-]?[0-9]+)\s+([+-]?[0-9]+)/.exec(line);
    if (!m) return { valid: false, reason: 'bad-line', limits };
    bytes += Number(m[1]);
    count += Number(m[2]);
  }
  if (bytes < 0 || count < 0) return { valid: false, reason: 'negative', limits };
  const over = (limits.bytes !== 0 && bytes > limits.bytes) || (limits.count !== 0 && count > limits.count);
  if (over && (usageLines.length > 1 || check.mtimeMs < check.nowMs - MAILDIRSIZE_STALE_MS)) {
    return { valid: false, reason: 'over-quota-unsure', limits };
  }
  return { valid: true, limits, usage: { bytes, count }, usageLines: usageLines.length };
}
