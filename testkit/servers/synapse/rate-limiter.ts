// Synapse's Ratelimiter for rc_message (synapse/api/ratelimiting.py): a leaky bucket per key,
// with per-user overrides (override_ratelimit with zeros exempts a user).

export class Ratelimiter {
  #buckets = new Map<string, { count: number; start: number }>();
  #exempt = new Set<string>();

  constructor(private readonly options: { readonly now: () => number; readonly rule: { readonly perSecond: number; readonly burst: number } }) {}

  exempt(userId: string): void {
    this.#exempt.add(userId);
  }

  isExempt(userId: string): boolean {
    return this.#exempt.has(userId);
  }

  /** undefined when allowed (and counted), else the ms to wait. */
  take(key: string): number | undefined {
    const { perSecond, burst } = this.options.rule;
    const now = this.options.now() / 1000;
    const bucket = this.#buckets.get(key) ?? { count: 0, start: now };
    const count = Math.max(0, bucket.count - (now - bucket.start) * perSecond);
    if (count + 1 > burst) {
      const allowedAt = now + (count + 1 - burst) / perSecond;
      return Math.max(0, Math.round((allowedAt - now) * 1000));
    }
    this.#buckets.set(key, { count: count + 1, start: now });
    return undefined;
  }
}
