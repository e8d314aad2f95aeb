import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Event } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { SortOrder } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { Random } from "../../kit/random.ts";
import { UNRESTRICTED } from "../../src/core/access.ts";
import type { EventService } from "../../src/core/event-service.ts";
import { openTestStore, storeKinds } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";
import { byTime, expectInvalid, ids, nsToTimestamp, queryAll, request, serviceOver } from "./fixtures.ts";

/** order_by_time with its tie-break on event_id, and page_size's default, cap and sign. */

const T0 = 1_764_072_000_000_000_000n;

describe.each(await storeKinds())("order and page size on the %s store", (kind) => {
  let service: EventService;
  let close: () => Promise<void>;
  let ties: Event[];

  beforeAll(async () => {
    const opened = await openTestStore(kind);
    close = opened.close;
    service = serviceOver(opened.store);
    const random = new Random(3);
    // Four instants with five events each, ingested in random order.
    ties = random.shuffle(
      Array.from({ length: 20 }, (_, i) =>
        makeEvent({ tenantId: "ties", eventId: random.id(6), timestamp: nsToTimestamp(T0 + BigInt(i % 4)) }),
      ),
    );
    await service.ingestBatch(UNRESTRICTED, ties);
    const many = Array.from({ length: 1050 }, (_, i) =>
      makeEvent({ tenantId: "many", eventId: `e${String(i).padStart(4, "0")}`, timestamp: nsToTimestamp(T0) }),
    );
    await service.ingestBatch(UNRESTRICTED, many);
  });
  afterAll(async () => {
    await close();
  });

  it("orders ascending by timestamp, then event_id", async () => {
    const page = await service.queryEvents(
      UNRESTRICTED,
      request({ filter: { tenantId: "ties" }, orderByTime: SortOrder.ASC }),
    );
    expect(ids(page.events)).toEqual(ids([...ties].sort(byTime())));
  });

  it("orders descending by timestamp, then event_id descending", async () => {
    const page = await service.queryEvents(
      UNRESTRICTED,
      request({ filter: { tenantId: "ties" }, orderByTime: SortOrder.DESC }),
    );
    expect(ids(page.events)).toEqual(ids([...ties].sort(byTime(true))));
  });

  it("orders newest first when order_by_time is unspecified", async () => {
    const page = await service.queryEvents(
      UNRESTRICTED,
      request({ filter: { tenantId: "ties" }, orderByTime: SortOrder.UNSPECIFIED }),
    );
    expect(ids(page.events)).toEqual(ids([...ties].sort(byTime(true))));
  });

  it("keeps the tie-break across page boundaries", async () => {
    for (const [order, descending] of [
      [SortOrder.ASC, false],
      [SortOrder.DESC, true],
    ] as const) {
      const { events, pages } = await queryAll(service, {
        filter: { tenantId: "ties" },
        orderByTime: order,
        pageSize: 3,
      });
      expect(ids(events)).toEqual(ids([...ties].sort(byTime(descending))));
      expect(pages.map((p) => p.events.length)).toEqual([3, 3, 3, 3, 3, 3, 2]);
    }
  });

  it("refuses an order_by_time that is not a SortOrder", async () => {
    await expectInvalid(
      service.queryEvents(UNRESTRICTED, request({ filter: { tenantId: "ties" }, orderByTime: 7 as SortOrder })),
      "query.order_by_time",
    );
  });

  it("returns 100 events when page_size is unset", async () => {
    const page = await service.queryEvents(UNRESTRICTED, request({ filter: { tenantId: "many" } }));
    expect(ids(page.events)).toEqual(Array.from({ length: 100 }, (_, i) => `e${String(i).padStart(4, "0")}`));
    expect(page.nextPageToken).not.toBe("");
  });

  it("caps page_size at 1000", async () => {
    for (const pageSize of [1000, 1001, 5000, 2 ** 31 - 1]) {
      const page = await service.queryEvents(UNRESTRICTED, request({ filter: { tenantId: "many" }, pageSize }));
      expect(page.events).toHaveLength(1000);
      expect(page.nextPageToken).not.toBe("");
    }
  });

  it("honours a small page_size and ends without a token", async () => {
    const one = await service.queryEvents(UNRESTRICTED, request({ filter: { tenantId: "many" }, pageSize: 1 }));
    expect(ids(one.events)).toEqual(["e0000"]);
    const rest = await service.queryEvents(
      UNRESTRICTED,
      request({ filter: { tenantId: "many" }, pageSize: 1000, pageToken: one.nextPageToken }),
    );
    expect(rest.events).toHaveLength(1000);
    const last = await service.queryEvents(
      UNRESTRICTED,
      request({ filter: { tenantId: "many" }, pageSize: 1000, pageToken: rest.nextPageToken }),
    );
    expect(ids(last.events)).toEqual(Array.from({ length: 49 }, (_, i) => `e${1001 + i}`));
    expect(last.nextPageToken).toBe("");
  });

  it("refuses a negative page_size", async () => {
    for (const pageSize of [-1, -(2 ** 31)]) {
      await expectInvalid(
        service.queryEvents(UNRESTRICTED, request({ filter: { tenantId: "many" }, pageSize })),
        "query.page_size",
      );
    }
  });
});
