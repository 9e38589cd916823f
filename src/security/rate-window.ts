/**
 * Events per key in a sliding time window (Postfix anvil's per-client counters). Memory is
 * bounded: keys whose events have all expired are dropped on the way, and the number of keys is
 * capped (the oldest are forgotten first), so a flood of addresses cannot grow it without limit.
 */
export class RateWindow {
  private readonly events = new Map<string, number[]>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  /** Records one event and returns how many fell in the window, this one included. */
  hit(key: string, count = 1): number {
    const list = this.fresh(key);
    for (let i = 0; i < count; i++) list.push(this.now());
    this.events.delete(key);
    this.events.set(key, list);
    if (this.events.size > this.maxKeys) this.events.delete(this.events.keys().next().value!);
    return list.length;
  }

  count(key: string): number {
    return this.fresh(key).length;
  }

  reset(key: string): void {
    this.events.delete(key);
  }

  /** Keys counted now. */
  get size(): number {
    return this.events.size;
  }

  /** Drops every key whose events have all expired (callers sweep now and then). */
  purge(): void {
    const since = this.now() - this.windowMs;
    for (const [key, list] of this.events) {
      if (list.at(-1)! <= since) this.events.delete(key);
      else if (list[0]! <= since) this.events.set(key, list.filter((t) => t > since));
    }
  }

  private fresh(key: string): number[] {
    const since = this.now() - this.windowMs;
    const list = (this.events.get(key) ?? []).filter((t) => t > since);
    if (list.length) this.events.set(key, list);
    else this.events.delete(key);
    return list;
  }
}
