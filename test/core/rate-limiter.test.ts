import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/core/rate-limiter.ts";
import { RateLimitedError } from "../../src/lib/errors.ts";

/** The seconds `take` says to wait, or "taken" when it took a token. */
function tryTake(limiter: RateLimiter, key: string, nowMs: number): number | "taken" {
  try {
    limiter.take(key, nowMs);
    return "taken";
  } catch (err) {
    if (!(err instanceof RateLimitedError)) throw err;
    return err.retryAfterSeconds;
  }
}

/** `n` takes at the same instant. */
const burstAt = (limiter: RateLimiter, key: string, nowMs: number, n: number) =>
  Array.from({ length: n }, () => tryTake(limiter, key, nowMs));

// Every instant is given (the clock is injected), so none of this depends on how fast it runs.
const T0 = 1_000_000;

describe("the token bucket of each key", () => {
  it("takes a burst of `burst` at once and refuses the next, saying to retry when a token is back", () => {
    const limiter = new RateLimiter(1, 3);
    expect(burstAt(limiter, "k", T0, 5)).toEqual(["taken", "taken", "taken", 1, 1]);
  });

  it("gets `perSecond` tokens back a second, fractions included", () => {
    const limiter = new RateLimiter(2, 2);
    expect(burstAt(limiter, "k", T0, 3)).toEqual(["taken", "taken", 1]);
    // Half a token back after 250 ms at 2/s: not yet one.
    expect(tryTake(limiter, "k", T0 + 250)).toBe(1);
    expect(tryTake(limiter, "k", T0 + 500)).toBe("taken");
    expect(tryTake(limiter, "k", T0 + 500)).toBe(1);
    // Two tokens back after one more second, no more.
    expect(burstAt(limiter, "k", T0 + 1500, 3)).toEqual(["taken", "taken", 1]);
  });

  it("counts a refused request as no token taken", () => {
    const limiter = new RateLimiter(1, 1);
    expect(burstAt(limiter, "k", T0, 1)).toEqual(["taken"]);
    // Refused again and again within the second: none of that delays the next token.
    expect(burstAt(limiter, "k", T0 + 900, 10)).toEqual(Array(10).fill(1));
    expect(tryTake(limiter, "k", T0 + 1000)).toBe("taken");
  });

  it("never holds more than `burst` tokens, however long the key was idle", () => {
    const limiter = new RateLimiter(10, 4);
    expect(burstAt(limiter, "k", T0, 1)).toEqual(["taken"]);
    expect(burstAt(limiter, "k", T0 + 3_600_000, 6)).toEqual(["taken", "taken", "taken", "taken", 1, 1]);
  });

  it("rounds the retry hint up to whole seconds, from the missing fraction and the rate", () => {
    // 0.1 tokens a second: an empty bucket needs 10 s; after 2.7 s, 0.27 tokens are back: 7.3 s, so 8.
    const limiter = new RateLimiter(0.1, 1);
    expect(burstAt(limiter, "k", T0, 2)).toEqual(["taken", 10]);
    expect(tryTake(limiter, "k", T0 + 2700)).toBe(8);
    expect(tryTake(limiter, "k", T0 + 10_000)).toBe("taken");
  });

  it("keeps one bucket per key: one key's burst leaves another's whole", () => {
    const limiter = new RateLimiter(1, 2);
    expect(burstAt(limiter, "busy", T0, 3)).toEqual(["taken", "taken", 1]);
    expect(burstAt(limiter, "calm", T0, 2)).toEqual(["taken", "taken"]);
  });
});
