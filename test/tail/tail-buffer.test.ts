import { describe, expect, test } from "vitest";
import { TailBuffer } from "../../src/core/tail/tail-buffer.ts";
import type { TailEvent } from "../../src/store/event-store.ts";

/** Event `n` of a test, with a payload of `bytes` bytes. */
const event = (n: number, bytes = 10): TailEvent => ({
  position: { xid: BigInt(n), eventId: `e${n}` },
  payload: new Uint8Array(bytes),
});
const ids = (events: TailEvent[]) => events.map((e) => e.position.eventId);
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

describe("a tail stream's buffer", () => {
  test("hands out what it holds in order, each event once, at most the count asked, across pushes and takes", () => {
    const buffer = new TailBuffer();
    expect(buffer.take(500, 1 << 20)).toEqual([]);
    const taken: string[] = [];
    let next = 0;
    // Pushes of 7 and takes of 3 to 5 interleaved: the taken part of the array is cut many times.
    for (let round = 0; round < 400; round++) {
      buffer.push(range(next, 7).map((n) => event(n)));
      next += 7;
      const run = buffer.take(3 + (round % 3), 1 << 20);
      expect(run.length).toBe(3 + (round % 3));
      taken.push(...ids(run));
      expect(buffer.size).toBe(next - taken.length);
    }
    while (buffer.size > 0) taken.push(...ids(buffer.take(500, 1 << 20)));
    expect(taken).toEqual(range(0, next).map((n) => `e${n}`));
    expect(buffer.take(500, 1 << 20)).toEqual([]);
  });

  test("stops before the event that would pass the byte bound, but always takes one", () => {
    const buffer = new TailBuffer();
    buffer.push([event(1, 400), event(2, 400), event(3, 400), event(4, 2000), event(5, 10)]);
    expect(ids(buffer.take(500, 1000))).toEqual(["e1", "e2"]);
    expect(ids(buffer.take(500, 1000))).toEqual(["e3"]);
    // Larger than the bound alone: it goes by itself.
    expect(ids(buffer.take(500, 1000))).toEqual(["e4"]);
    expect(ids(buffer.take(500, 1000))).toEqual(["e5"]);
    expect(buffer.size).toBe(0);
  });

  test("holds nothing after clear", () => {
    const buffer = new TailBuffer();
    buffer.push(range(0, 10).map((n) => event(n)));
    buffer.take(4, 1 << 20);
    buffer.clear();
    expect(buffer.size).toBe(0);
    expect(buffer.take(500, 1 << 20)).toEqual([]);
    buffer.push([event(20)]);
    expect(ids(buffer.take(500, 1 << 20))).toEqual(["e20"]);
  });
});
