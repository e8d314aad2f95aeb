import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/core/rate-limiter.ts";
import { RateLimitedError } from "../../src/lib/errors.ts";

/** Buckets for keys anyone can make up (client addresses) are bounded in number. */
describe("RateLimiter's bound on buckets", () => {
  const limiter = () => new RateLimiter(1, 1, "failed authentications/s from", 2);

  it("spends without throwing, and refuses an empty bucket until it refills", () => {
    const l = limiter();
    l.spend("a", 0);
    l.spend("a", 0);
    expect(() => l.check("a", 0)).toThrow(RateLimitedError);
    expect(() => l.check("a", 0)).toThrow("rate limit of 1 failed authentications/s from a exceeded");
    expect(() => l.check("a", 1000)).not.toThrow();
  });

  it("drops full buckets first when over the bound: an empty one is kept", () => {
    const l = limiter();
    l.spend("empty", 0);
    l.check("full", 0);
    l.spend("third", 0);
    expect(() => l.check("empty", 0)).toThrow(RateLimitedError);
  });

  it("then drops the least recently used", () => {
    const l = limiter();
    l.spend("first", 0);
    l.spend("second", 0);
    l.spend("third", 0);
    expect(() => l.check("first", 0)).not.toThrow(); // forgotten: a new, full bucket
    expect(() => l.check("third", 0)).toThrow(RateLimitedError);
  });
});
