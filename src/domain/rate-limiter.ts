import { RateLimitedError } from "./errors.ts";

/**
 * A token bucket per key: `perSecond` requests a second on average, bursts up to `burst`.
 * Counted per server process. Only authenticated keys get a bucket, so memory is bounded by them.
 */
export class RateLimiter {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, { tokens: number; updatedMs: number }>();

  constructor(perSecond: number, burst: number) {
    this.#perSecond = perSecond;
    this.#burst = burst;
  }

  /** Takes one token for `key` or throws RateLimitedError saying when to retry. */
  take(key: string, nowMs = Date.now()): void {
    const bucket = this.#buckets.get(key) ?? { tokens: this.#burst, updatedMs: nowMs };
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((nowMs - bucket.updatedMs) / 1000) * this.#perSecond);
    bucket.updatedMs = nowMs;
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 1) {
      const retryAfterSeconds = Math.ceil((1 - bucket.tokens) / this.#perSecond);
      throw new RateLimitedError(
        `rate limit of ${this.#perSecond} requests/s for key ${key} exceeded`,
        retryAfterSeconds,
      );
    }
    bucket.tokens -= 1;
  }
}
