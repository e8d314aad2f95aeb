import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UNRESTRICTED } from "../../src/core/access.ts";
import type { EventService } from "../../src/core/event-service.ts";
import { openTestStore, storeKinds } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";
import { expectInvalid, nsToTimestamp, queryAll, request, serviceOver } from "./fixtures.ts";

/** QueryFilter.time: start inclusive, end exclusive, to the nanosecond, on either side of 1970. */

// One nanosecond before a whole second, so the neighbours cross a second boundary.
const T = 1_764_072_000_999_999_999n;
const INSTANTS = [-1_000_000_001n, -1n, 0n, 1n, T - 1n, T, T + 1n, T + 2n];

describe.each(await storeKinds())("time ranges on the %s store", (kind) => {
  let service: EventService;
  let close: () => Promise<void>;
  const idAt = new Map<string, bigint>();

  beforeAll(async () => {
    const opened = await openTestStore(kind);
    close = opened.close;
    service = serviceOver(opened.store);
    const events = INSTANTS.map((ns) => {
      const event = makeEvent({ tenantId: "time", timestamp: nsToTimestamp(ns) });
      idAt.set(event.eventId, ns);
      return event;
    });
    await service.ingestBatch(UNRESTRICTED, events);
  });
  afterAll(async () => {
    await close();
  });

  async function instantsIn(start?: bigint, end?: bigint): Promise<bigint[]> {
    const time = {
      ...(start === undefined ? {} : { start: nsToTimestamp(start) }),
      ...(end === undefined ? {} : { end: nsToTimestamp(end) }),
    };
    const { events } = await queryAll(service, { filter: { tenantId: "time", time } });
    return events.map((e) => idAt.get(e.eventId) ?? -999n);
  }

  it("includes start and excludes end, to the nanosecond", async () => {
    expect(await instantsIn(T, T + 2n)).toEqual([T, T + 1n]);
    expect(await instantsIn(T - 1n, T)).toEqual([T - 1n]);
    expect(await instantsIn(T + 1n, T + 3n)).toEqual([T + 1n, T + 2n]);
  });

  it("is empty when start equals end", async () => {
    expect(await instantsIn(T, T)).toEqual([]);
  });

  it("accepts a range open on either side", async () => {
    expect(await instantsIn(T)).toEqual([T, T + 1n, T + 2n]);
    expect(await instantsIn(undefined, 1n)).toEqual([-1_000_000_001n, -1n, 0n]);
    expect(await instantsIn()).toEqual(INSTANTS);
  });

  it("handles instants before 1970", async () => {
    expect(await instantsIn(-1_000_000_001n, 0n)).toEqual([-1_000_000_001n, -1n]);
    expect(await instantsIn(-1n, 1n)).toEqual([-1n, 0n]);
  });

  it("refuses an end before start, and an invalid timestamp", async () => {
    const time = { start: nsToTimestamp(T + 1n), end: nsToTimestamp(T) };
    await expectInvalid(
      service.queryEvents(UNRESTRICTED, request({ filter: { tenantId: "time", time } })),
      "query.filter.time.end",
    );
    const badNanos = { start: { seconds: 1n, nanos: 1_000_000_000 } };
    await expectInvalid(
      service.queryEvents(UNRESTRICTED, request({ filter: { tenantId: "time", time: badNanos } })),
      "query.filter.time.start",
    );
  });
});
