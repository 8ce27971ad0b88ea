/**
 * Allows one action per key per `minGapMs`: prompt replies and prompt beacons to newly hinted endpoints go out at
 * once, but never in a loop to the same endpoint.
 */
export class RateLimiter {
  private readonly minGapMs: number;
  private readonly last = new Map<string, number>();

  constructor(minGapMs: number) {
    this.minGapMs = minGapMs;
  }

  /** Whether `key` may act at `now` (monotonic ms); if so, the time is recorded. */
  allow(key: string, now: number): boolean {
    const previous = this.last.get(key);
    if (previous !== undefined && now - previous < this.minGapMs) return false;
    this.last.set(key, now);
    return true;
  }

  /** Forgets keys whose gap has passed, so the map stays as small as the recent traffic. */
  prune(now: number): void {
    for (const [key, at] of this.last) if (now - at >= this.minGapMs) this.last.delete(key);
  }
}
