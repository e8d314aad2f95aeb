import { RateLimitedError } from "../lib/errors.ts";

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/**
 * A token bucket per key (an API key's id, a client address): `perSecond` tokens a second on
 * average, bursts up to `burst`. Counted per server process. At most `maxBuckets` are kept: past
 * that, full buckets (as good as new) are dropped first, then the least recently used, so keys
 * that anyone can make up (addresses) cannot fill memory.
 */
export class RateLimiter {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #what: string;
  readonly #maxBuckets: number;
  readonly #buckets = new Map<string, Bucket>();

  /** `what` names what is limited, for the error: "requests/s for key", "failed authentications/s from". */
  constructor(perSecond: number, burst: number, what = "requests/s for key", maxBuckets = 100_000) {
    this.#perSecond = perSecond;
    this.#burst = burst;
    this.#what = what;
    this.#maxBuckets = maxBuckets;
  }

  /** Takes one token for `key` or throws RateLimitedError saying when to retry. */
  take(key: string, nowMs = Date.now()): void {
    const bucket = this.#check(key, nowMs);
    bucket.tokens -= 1;
  }

  /** Throws RateLimitedError when `key` has no token left, without taking one. */
  check(key: string, nowMs = Date.now()): void {
    this.#check(key, nowMs);
  }

  /** Takes one token for `key` if it has one; never throws (counts an event already refused otherwise). */
  spend(key: string, nowMs = Date.now()): void {
    const bucket = this.#refilled(key, nowMs);
    bucket.tokens = Math.max(0, bucket.tokens - 1);
  }

  #check(key: string, nowMs: number): Bucket {
    const bucket = this.#refilled(key, nowMs);
    if (bucket.tokens < 1) {
      const retryAfterSeconds = Math.ceil((1 - bucket.tokens) / this.#perSecond);
      throw new RateLimitedError(`rate limit of ${this.#perSecond} ${this.#what} ${key} exceeded`, retryAfterSeconds);
    }
    return bucket;
  }

  #refilled(key: string, nowMs: number): Bucket {
    const bucket = this.#buckets.get(key) ?? { tokens: this.#burst, updatedMs: nowMs };
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((nowMs - bucket.updatedMs) / 1000) * this.#perSecond);
    bucket.updatedMs = nowMs;
    // Re-inserted, so the map's order is least recently used first.
    this.#buckets.delete(key);
    if (this.#buckets.size >= this.#maxBuckets) this.#prune(nowMs);
    this.#buckets.set(key, bucket);
    return bucket;
  }

  /** Drops full buckets, then the least recently used down to 9/10 of the bound: one walk per many inserts. */
  #prune(nowMs: number): void {
    for (const [key, bucket] of this.#buckets) {
      const tokens = bucket.tokens + ((nowMs - bucket.updatedMs) / 1000) * this.#perSecond;
      if (tokens >= this.#burst) this.#buckets.delete(key);
    }
    for (const key of this.#buckets.keys()) {
      if (this.#buckets.size < this.#maxBuckets * 0.9) break;
      this.#buckets.delete(key);
    }
  }
}
