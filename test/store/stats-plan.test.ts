import { describe, expect, it } from "vitest";
import { Random } from "../../kit/random.ts";
import { hourOf, planStats } from "../../src/store/sql/event-stats.ts";

/** How a stats range is split between the rollups and the events themselves. */

const HOUR = 3_600_000_000_000n;
const DAY = 24n * HOUR;
const T0 = 1_764_072_000_000_000_000n; // on an hour boundary, not a day boundary

describe("hourOf", () => {
  it("rounds down, also before 1970", () => {
    expect(hourOf(0n)).toBe(0n);
    expect(hourOf(HOUR - 1n)).toBe(0n);
    expect(hourOf(HOUR)).toBe(1n);
    expect(hourOf(-1n)).toBe(-1n);
    expect(hourOf(-HOUR)).toBe(-1n);
    expect(hourOf(-HOUR - 1n)).toBe(-2n);
  });
});

describe("planStats", () => {
  it("counts a range inside one hour from the events alone", () => {
    const plan = planStats(T0 + 5n, T0 + HOUR - 5n);
    expect(plan.hours.from).toBe(plan.hours.to);
    expect(plan.days.from).toBe(plan.days.to);
    expect(plan.edges[0]).toEqual({ from: T0 + 5n, to: T0 + HOUR - 5n });
  });

  it("takes whole days from the daily rollup and the hours around them from the hourly one", () => {
    const midnight = T0 - (T0 % DAY) + DAY;
    const plan = planStats(midnight - 3n * HOUR - 7n, midnight + 2n * DAY + 5n * HOUR + 9n);
    expect(plan.hours).toEqual({ from: hourOf(midnight) - 3n, to: hourOf(midnight) + 53n });
    expect(plan.days).toEqual({ from: midnight / DAY, to: midnight / DAY + 2n });
    expect(plan.edges).toEqual([
      { from: midnight - 3n * HOUR - 7n, to: midnight - 3n * HOUR },
      { from: midnight + 53n * HOUR, to: midnight + 2n * DAY + 5n * HOUR + 9n },
    ]);
  });

  it("covers every nanosecond of any range exactly once", () => {
    const random = new Random(11);
    for (let i = 0; i < 2000; i++) {
      const a = T0 - 3n * DAY + random.bigint(6n * DAY);
      const b = a + random.bigint(random.pick([HOUR, DAY, 5n * DAY]));
      const plan = planStats(a, b);
      const hoursNs = (plan.hours.to - plan.hours.from) * HOUR;
      const edgesNs = plan.edges.reduce((sum, e) => sum + (e.to - e.from), 0n);
      expect(hoursNs + edgesNs).toBe(b - a);
      for (const e of plan.edges) expect(e.to).toBeGreaterThanOrEqual(e.from);
      if (plan.hours.to > plan.hours.from) {
        expect(plan.edges[0].to).toBe(plan.hours.from * HOUR);
        expect(plan.edges[1].from).toBe(plan.hours.to * HOUR);
      }
      // Whole days lie within the whole hours, on day boundaries.
      if (plan.days.to > plan.days.from) {
        expect(plan.days.from * 24n).toBeGreaterThanOrEqual(plan.hours.from);
        expect(plan.days.to * 24n).toBeLessThanOrEqual(plan.hours.to);
        expect(plan.days.from * 24n - plan.hours.from).toBeLessThan(24n);
        expect(plan.hours.to - plan.days.to * 24n).toBeLessThan(24n);
      }
    }
  });
});
