import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Event } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { SortOrder } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { Random } from "../../kit/random.ts";
import { UNRESTRICTED } from "../../src/core/access.ts";
import type { EventService } from "../../src/core/event-service.ts";
import type { Database } from "../../src/store/database.ts";
import { openTestStore, storeKinds } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";
import { byTime, expectInvalid, ids, nsToTimestamp, queryAll, request, serviceOver } from "./fixtures.ts";

/** Keyset pagination: complete, in order, stable under concurrent ingest, and tamper-proof tokens. */

const T0 = 1_764_072_000_000_000_000n;
const ORDERS = [
  { name: "ascending", order: SortOrder.ASC, descending: false },
  { name: "descending", order: SortOrder.DESC, descending: true },
] as const;

/** Events over few distinct instants, so many share a timestamp and pages split ties. */
function generate(random: Random, tenantId: string, count: number): Event[] {
  return Array.from({ length: count }, () =>
    makeEvent({ tenantId, eventId: random.id(8), timestamp: nsToTimestamp(T0 + BigInt(random.int(300)) * 1000n) }),
  );
}

describe.each(await storeKinds())("pagination on the %s store", (kind) => {
  let store: Database;
  let service: EventService;
  let close: () => Promise<void>;
  let walk: Event[];

  beforeAll(async () => {
    ({ store, close } = await openTestStore(kind));
    service = serviceOver(store);
    walk = generate(new Random(11), "walk", 1050);
    await service.ingestBatch(UNRESTRICTED, walk);
  });
  afterAll(async () => {
    await close();
  });

  it.each(ORDERS)("walks 1,050 events $name in pages of 37, each once and in order", async ({ order, descending }) => {
    const { events, pages } = await queryAll(service, {
      filter: { tenantId: "walk" },
      orderByTime: order,
      pageSize: 37,
    });
    expect(ids(events)).toEqual(ids([...walk].sort(byTime(descending))));
    expect(pages).toHaveLength(29);
    expect(pages.slice(0, -1).every((p) => p.events.length === 37 && p.nextPageToken !== "")).toBe(true);
    expect(pages.at(-1)?.events).toHaveLength(1050 - 28 * 37);
  });

  it.each(ORDERS)("walks $name while events are ingested between pages", async ({ name, order, descending }) => {
    const random = new Random(descending ? 21 : 22);
    const tenantId = `live-${name}`;
    const before = generate(random, tenantId, 600);
    await service.ingestBatch(UNRESTRICTED, before);

    // A writer that keeps ingesting new events (at existing instants too) and re-sending old ones.
    let walking = true;
    let inserts = 0;
    let onInsert: (() => void) | undefined;
    const writer = (async () => {
      while (walking) {
        await service.ingestBatch(UNRESTRICTED, [...generate(random, tenantId, 5), random.pick(before)]);
        inserts++;
        onInsert?.();
      }
    })();
    const nextInsert = () => new Promise<void>((resolve) => (onInsert = resolve));

    const { events, pages } = await queryAll(
      service,
      { filter: { tenantId }, orderByTime: order, pageSize: 37 },
      nextInsert,
    ).finally(() => (walking = false));
    await writer;

    expect(inserts).toBeGreaterThanOrEqual(pages.length - 1);
    const walked = ids(events);
    expect(new Set(walked).size).toBe(walked.length);
    const seen = new Set(walked);
    expect(before.filter((e) => !seen.has(e.eventId))).toEqual([]);
    // Strictly monotonic in the requested order: nothing went backwards.
    const sorted = [...events].sort(byTime(descending));
    expect(walked).toEqual(ids(sorted));
  });

  describe("page tokens", () => {
    const filter = { tenantId: "walk" };
    let token: string;

    beforeAll(async () => {
      const first = await service.queryEvents(UNRESTRICTED, request({ filter, pageSize: 10 }));
      token = first.nextPageToken;
    });

    it("accepts the token it issued, for the same query", async () => {
      const page = await service.queryEvents(UNRESTRICTED, request({ filter, pageSize: 10, pageToken: token }));
      expect(ids(page.events)).toEqual(ids([...walk].sort(byTime()).slice(10, 20)));
    });

    it.each(["garbage", ".", "..", "a.b", "a.b.c", `${"eyJxIjoiIn0".repeat(3)}.${"A".repeat(22)}`])(
      "refuses the garbage token %j",
      async (pageToken) => {
        const err = await expectInvalid(
          service.queryEvents(UNRESTRICTED, request({ filter, pageToken })),
          "query.page_token",
        );
        expect(err.message).toContain("query.page_token");
      },
    );

    it("refuses an edited token", async () => {
      const [data, mac] = token.split(".");
      const body = JSON.parse(Buffer.from(data, "base64url").toString());
      const moved = Buffer.from(JSON.stringify({ ...body, e: "zzzzzzzz" })).toString("base64url");
      await expectInvalid(
        service.queryEvents(UNRESTRICTED, request({ filter, pageToken: `${moved}.${mac}` })),
        "query.page_token",
      );
      const i = Math.floor(mac.length / 2);
      const flipped = `${mac.slice(0, i)}${mac[i] === "A" ? "B" : "A"}${mac.slice(i + 1)}`;
      await expectInvalid(
        service.queryEvents(UNRESTRICTED, request({ filter, pageToken: `${data}.${flipped}` })),
        "query.page_token",
      );
    });

    it("refuses a token signed with another key", async () => {
      const other = serviceOver(store);
      const forged = (await other.queryEvents(UNRESTRICTED, request({ filter, pageSize: 10 }))).nextPageToken;
      await expectInvalid(
        service.queryEvents(UNRESTRICTED, request({ filter, pageToken: forged })),
        "query.page_token",
      );
    });

    it("refuses a token issued for another filter or order", async () => {
      for (const query of [
        { filter: { tenantId: "walk", projectId: "web" } },
        { filter: { tenantId: "other" } },
        { filter: { tenantId: "walk", textQuery: "x" } },
        { filter, orderByTime: SortOrder.DESC },
      ]) {
        await expectInvalid(
          service.queryEvents(UNRESTRICTED, request({ ...query, pageToken: token })),
          "query.page_token",
        );
      }
    });
  });
});
