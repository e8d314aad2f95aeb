import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TailPoller } from "../../src/core/tail/tail-poller.ts";
import { TailStream } from "../../src/core/tail/tail-stream.ts";
import { NO_METRICS } from "../../src/lib/metrics.ts";
import type { Database } from "../../src/store/database.ts";
import type { TailPosition } from "../../src/store/event-store.ts";
import { meteredStore } from "../../src/store/metered-store.ts";
import { ALL_TENANTS } from "../../src/store/tenant-scope.ts";
import { openTestStore, storeKinds } from "../support/databases.ts";
import { eventRecord } from "../support/records.ts";

/** The poller on a real store: which events reach which stream, and how many reads it took. */

const START: TailPosition = { xid: 0n, eventId: "" };

describe.each(await storeKinds())("TailPoller on the %s store", (kind) => {
  let store: Database;
  let close: () => Promise<void>;
  const operations = new Map<string, number>();
  const reads = () => operations.get("readTail") ?? 0;

  beforeAll(async () => {
    ({ store, close } = await openTestStore(kind));
  });
  afterAll(async () => {
    await close();
  });

  /** Stores `count` events of `tenantId` in transactions of `perBatch`; their ids in the tail's order. */
  async function storeEvents(tenantId: string, count: number, perBatch: number): Promise<string[]> {
    for (let first = 0; first < count; first += perBatch) {
      const ids = Array.from({ length: Math.min(perBatch, count - first) }, (_, i) => `e-${first + i}`);
      await store.insertEvents(
        ALL_TENANTS,
        ids.map((eventId) => eventRecord({ tenantId, eventId })),
      );
    }
    // Committed events are read once every transaction before them has ended, in any database of
    // the cluster (ADR 0014): other work on it can hold them back for a moment.
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
      const read = await store.readTail({ tenantId }, { tenantId }, START, 100_000);
      if (read.events.length === count) return read.events.map((e) => e.position.eventId);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the ${count} events of ${tenantId} were not all below the tail's horizon within 20 s`);
  }

  async function positionAfter(tenantId: string, count: number): Promise<TailPosition> {
    const read = await store.readTail({ tenantId }, { tenantId }, START, count);
    return read.events[count - 1].position;
  }

  /**
   * Opens streams at the positions on one poller (in one turn, so its first round has them all),
   * each with a buffer of `bufferEvents[i]` (10,000 unless given); rounds every `pollMs` unless
   * one leaves more to read.
   */
  function follow(tenantId: string, positions: TailPosition[], bufferEvents: number[] = [], pollMs = 50) {
    const metered = meteredStore(store, {
      ...NO_METRICS,
      storeOperation: (op) => operations.set(op, (operations.get(op) ?? 0) + 1),
    });
    const poller = new TailPoller(metered, tenantId, pollMs, (err) => {
      throw err;
    });
    const streams = positions.map((from, i) => {
      const stream: TailStream = new TailStream({ tenantId }, from, {
        bufferEvents: bufferEvents[i] ?? 10_000,
        maxEventsPerItem: 500,
        maxBytesPerItem: 1 << 20,
        heartbeatMs: 60_000,
        deadline: Date.now() + 60_000,
        onDetach: () => poller.remove(stream),
      });
      return stream;
    });
    for (const stream of streams) poller.add(stream);
    return { poller, streams };
  }

  async function receive(stream: TailStream, count: number): Promise<string[]> {
    const signal = AbortSignal.timeout(20_000);
    const ids: string[] = [];
    while (ids.length < count) {
      const item = await stream.next(signal);
      if (!item) throw new Error(`the stream ended after ${ids.length} of ${count} events`);
      if (item.kind === "events") ids.push(...item.events.map((e) => e.position.eventId));
    }
    // Nothing more is waiting: no event came twice.
    expect(await stream.next(AbortSignal.timeout(100))).toBeUndefined();
    return ids;
  }

  it("a stream behind another of its filter shares its read, and each gets every event after its own position once, in order", async () => {
    const order = await storeEvents("behind", 150, 50);
    const { poller, streams } = follow("behind", [
      await positionAfter("behind", 100),
      await positionAfter("behind", 20),
    ]);
    const readsBefore = reads();
    const [ahead, behind] = await Promise.all([receive(streams[0], 50), receive(streams[1], 130)]);
    expect(ahead).toEqual(order.slice(100));
    expect(behind).toEqual(order.slice(20));
    expect(reads() - readsBefore).toBe(1);

    // Caught up, they are at one position: new events take one read for both.
    const more = Array.from({ length: 30 }, (_, i) => eventRecord({ tenantId: "behind", eventId: `later-${i}` }));
    await store.insertEvents(ALL_TENANTS, more);
    const readsThen = reads();
    const [aheadLater, behindLater] = await Promise.all([receive(streams[0], 30), receive(streams[1], 30)]);
    expect(aheadLater).toEqual(behindLater);
    expect(new Set(aheadLater)).toEqual(new Set(more.map((r) => r.eventId)));
    expect(reads() - readsThen).toBe(1);
    for (const stream of streams) stream.close();
    expect(poller.idle).toBe(true);
  });

  it("streams further apart than one read: those within one share it, and each gets every event after its position once, in order", async () => {
    const order = await storeEvents("apart", 1200, 400);
    const { streams } = follow("apart", [START, await positionAfter("apart", 700), await positionAfter("apart", 650)]);
    const readsBefore = reads();
    const [all, last500, last550] = await Promise.all([
      receive(streams[0], 1200),
      receive(streams[1], 500),
      receive(streams[2], 550),
    ]);
    expect(all).toEqual(order);
    expect(last500).toEqual(order.slice(700));
    expect(last550).toEqual(order.slice(650));
    // From the start: events 1-500, then 651-1150 for the two streams past 500; from 500: 501-1000,
    // then 1151-1200 for the two; from 1000: 1001-1200, which ends the first stream's round too.
    expect(reads() - readsBefore).toBe(5);
    for (const stream of streams) stream.close();
  });

  it("a stream exactly at a full read's last event is read for from there, and misses nothing", async () => {
    const order = await storeEvents("edge", 700, 350);
    const { streams } = follow("edge", [START, await positionAfter("edge", 500)]);
    const readsBefore = reads();
    const [all, rest] = await Promise.all([receive(streams[0], 700), receive(streams[1], 200)]);
    expect(all).toEqual(order);
    expect(rest).toEqual(order.slice(500));
    // Events 1-500 for the first stream, 501-700 for the second; then 501-700 for the first.
    expect(reads() - readsBefore).toBe(3);
    for (const stream of streams) stream.close();
  });

  it("after a read cut short by a full buffer, a stream it served that still follows is read for again at once", async () => {
    const order = await storeEvents("room", 350, 350);
    // A read of 301 (the roomier buffer plus one): the first stream overflows and ends, the second
    // takes events 201-301 of it, and has 49 more to read without waiting for the next minute's round.
    const { streams } = follow("room", [START, await positionAfter("room", 200)], [300, 200], 60_000);
    const [, ahead] = await Promise.all([streams[0].next(AbortSignal.timeout(20_000)), receive(streams[1], 150)]);
    expect(ahead).toEqual(order.slice(200));
    expect(streams[0].following).toBe(false);
    streams[1].close();
  });

  it("a stream whose buffer cannot hold its part of a shared read ends as slow; the others go on", async () => {
    const order = await storeEvents("slow", 300, 300);
    // The third stream's buffer holds 100 of the 300 events it is owed.
    const { streams } = follow("slow", [START, await positionAfter("slow", 250), START], [10_000, 10_000, 100]);
    const small = streams[2];
    const [all, tail] = await Promise.all([receive(streams[0], 300), receive(streams[1], 50)]);
    expect(all).toEqual(order);
    expect(tail).toEqual(order.slice(250));
    const signal = AbortSignal.timeout(20_000);
    const first = await small.next(signal);
    expect(first?.kind === "events" && first.events.map((e) => e.position.eventId)).toEqual(order.slice(0, 100));
    const end = await small.next(signal);
    expect(end).toMatchObject({ kind: "end", reason: "slow-subscriber", position: first?.position });
    for (const stream of streams) stream.close();
  });
});
