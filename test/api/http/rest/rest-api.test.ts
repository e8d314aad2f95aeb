import { create, equals } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Author,
  AuthorSchema,
  type Event,
  EventSchema,
  EventStatus,
  EventStatusSchema,
  EventType,
  EventTypeSchema,
  Severity,
  SeveritySchema,
} from "../../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { eventFromRestJson, eventToRestJson } from "../../../../src/codec/formats/rest-json.ts";
import { storeKinds } from "../../../support/databases.ts";
import { EVERY_CONTENT, fullEvent, withoutIntegrity } from "../../../support/events.ts";
import { QueryClient } from "../../../support/query-client.ts";
import { startTestServer, type TestServer } from "../../../support/server.ts";
import { restEvent, restGet, restPost } from "./rest-client.ts";

const TENANT = "rest-tenant";
let sessions = 0;
const newSession = () => `rest-session-${++sessions}-${Math.random().toString(36).slice(2, 8)}`;

/** An enum's values other than UNSPECIFIED, as [bare name, full name, number]. */
function spellings(schema: { values: { name: string; localName: string; number: number }[] }) {
  return schema.values.filter((v) => v.number !== 0).map((v) => [v.localName, v.name, v.number] as const);
}

describe.each(await storeKinds())("the public REST API on the %s store", (kind) => {
  let server: TestServer;
  let connect: QueryClient;
  beforeAll(async () => {
    server = await startTestServer(kind);
    connect = new QueryClient(server.baseUrl);
  });
  afterAll(async () => {
    connect.close();
    await server.close();
  });

  /** Everything of one session, read through Connect QueryEvents. */
  const viaConnect = (sessionId: string) => connect.all({ tenantId: TENANT, sessionId });

  /** One page of POST /v1/query for a session. */
  const viaRest = (sessionId: string, extra: Record<string, unknown> = {}) =>
    restPost(server.baseUrl, "/v1/query", { filter: { tenant_id: TENANT, session_id: sessionId }, ...extra });

  it("GET /healthz answers 200", async () => {
    const answer = await restGet(server.baseUrl, "/healthz");
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: "ok" });
  });

  it("GET /v1/capabilities lists every capability, as GetCapabilities does", async () => {
    const answer = await restGet(server.baseUrl, "/v1/capabilities");
    expect(answer.status).toBe(200);
    const { capabilities } = await connect.client.getCapabilities({});
    expect(answer.body).toEqual({
      worm_retention: capabilities?.wormRetention,
      audit_proofs: capabilities?.auditProofs,
      distributed_query: capabilities?.distributedQuery,
      rbac: capabilities?.rbac,
      sso: capabilities?.sso,
      policy_decisions: capabilities?.policyDecisions,
      data_access_events: capabilities?.dataAccessEvents,
    });
    expect(Object.values(answer.body).every((v) => typeof v === "boolean")).toBe(true);
  });

  it("POST /v1/events answers 202 with the spec's acknowledgement and stores the event as written", async () => {
    const sessionId = newSession();
    const before = Date.now();
    const body = restEvent({
      session_id: sessionId,
      type: "TOOL_CALL_START",
      status: "IN_PROGRESS",
      severity: "WARN",
      author: "AGENT",
      tags: ["a", "b"],
      content: { kind: "tool_call", id: "c1", name: "weather", arguments: { city: "Paris" }, function_name: "fc" },
    });
    const answer = await restPost(server.baseUrl, "/v1/events", body);
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ event_id: body.event_id, status: "accepted", processed_at: expect.any(Number) });
    expect(answer.body.processed_at).toBeGreaterThanOrEqual(before);
    expect(answer.body.processed_at).toBeLessThanOrEqual(Date.now());

    const [stored] = await viaConnect(sessionId);
    expect(stored).toMatchObject({
      eventId: body.event_id,
      tenantId: TENANT,
      projectId: "rest-project",
      type: EventType.TOOL_CALL_START,
      status: EventStatus.IN_PROGRESS,
      severity: Severity.WARN,
      author: Author.AGENT,
      tags: ["a", "b"],
      timestamp: { seconds: BigInt(Date.parse("2026-02-03T04:05:06Z") / 1000), nanos: 123_456_789 },
      content: {
        case: "toolCall",
        value: { id: "c1", name: "weather", arguments: { city: "Paris" }, functionName: "fc" },
      },
    });
  });

  it.each(EVERY_CONTENT.map((c) => [c.case, c] as const))(
    "%s content posted via REST reads back equal through Connect",
    async (_, content) => {
      const event = fullEvent(content);
      Object.assign(event, { tenantId: TENANT, sessionId: newSession() });
      const answer = await restPost(server.baseUrl, "/v1/events", eventToRestJson(event));
      expect(answer.status).toBe(202);
      const back = await viaConnect(event.sessionId);
      expect(back).toHaveLength(1);
      expect(equals(EventSchema, withoutIntegrity(back[0]), event)).toBe(true);
    },
  );

  it.each(EVERY_CONTENT.map((c) => [c.case, c] as const))(
    "%s content ingested via Connect reads back equal through POST /v1/query",
    async (_, content) => {
      const event = fullEvent(content);
      Object.assign(event, { tenantId: TENANT, sessionId: newSession() });
      await connect.client.ingestEvent({ event });
      const answer = await viaRest(event.sessionId);
      expect(answer.status).toBe(200);
      expect(answer.body.events).toHaveLength(1);
      expect(answer.body.next_page_token).toBe("");
      expect(equals(EventSchema, withoutIntegrity(eventFromRestJson(answer.body.events[0])), event)).toBe(true);
    },
  );

  it("reads and writes every enum value by its bare name, and reads full names too", async () => {
    const types = spellings(EventTypeSchema);
    const statuses = spellings(EventStatusSchema);
    const severities = spellings(SeveritySchema);
    const authors = spellings(AuthorSchema);
    const sessionId = newSession();
    const pick = <T>(list: readonly T[], i: number) => list[i % list.length];
    // Even events spell their enums bare, odd ones full; one event per EventType.
    const events = types.map(([bare, full], i) => {
      const spell = (s: readonly [string, string, number]) => (i % 2 === 0 ? s[0] : s[1]);
      return restEvent({
        event_id: `enum-${sessionId}-${i}`,
        session_id: sessionId,
        timestamp: new Date(Date.UTC(2026, 1, 1, 0, 0, i)).toISOString(),
        type: i % 2 === 0 ? bare : full,
        status: spell(pick(statuses, i)),
        severity: spell(pick(severities, i)),
        author: spell(pick(authors, i)),
      });
    });
    const batch = await restPost(server.baseUrl, "/v1/events/batch", { events });
    expect(batch.body).toMatchObject({ accepted_count: types.length, rejected_count: 0 });

    const stored = await viaConnect(sessionId);
    expect(stored.map((e) => [e.type, e.status, e.severity, e.author])).toEqual(
      types.map(([, , number], i) => [number, pick(statuses, i)[2], pick(severities, i)[2], pick(authors, i)[2]]),
    );
    // The REST API answers with bare names only.
    const answer = await viaRest(sessionId, { order_by_time: "ASC", page_size: 100 });
    expect(answer.body.events.map((e: Record<string, string>) => [e.type, e.status, e.severity, e.author])).toEqual(
      types.map(([bare], i) => [bare, pick(statuses, i)[0], pick(severities, i)[0], pick(authors, i)[0]]),
    );
  });

  it("filters /v1/query by enum lists in either spelling", async () => {
    const sessionId = newSession();
    const events = ["TOOL_CALL_START", "TOOL_CALL_END", "ERROR"].map((type, i) =>
      restEvent({
        session_id: sessionId,
        type,
        severity: type === "ERROR" ? "ERROR" : "INFO",
        event_id: `f-${sessionId}-${i}`,
      }),
    );
    await restPost(server.baseUrl, "/v1/events/batch", { events });
    const ids = async (filter: Record<string, unknown>) => {
      const answer = await restPost(server.baseUrl, "/v1/query", {
        filter: { tenant_id: TENANT, session_id: sessionId, ...filter },
        order_by_time: "ASC",
      });
      expect(answer.status).toBe(200);
      return answer.body.events.map((e: { event_id: string }) => e.event_id);
    };
    const [start, end, error] = events.map((e) => e.event_id);
    expect(await ids({ types: ["TOOL_CALL_START", "EVENT_TYPE_ERROR"] })).toEqual([start, error]);
    expect(await ids({ severities: ["SEVERITY_ERROR"] })).toEqual([error]);
    expect(await ids({ types: ["TOOL_CALL_END"], statuses: ["STARTED"] })).toEqual([end]);
  });

  it.each([
    ["2026-03-04T05:06:07.123456789Z", 123_456_789, "2026-03-04T05:06:07.123456789Z"],
    ["2026-03-04T05:06:07.000000001Z", 1, "2026-03-04T05:06:07.000000001Z"],
    ["2026-03-04T07:06:07.5+02:00", 500_000_000, "2026-03-04T05:06:07.500Z"],
    ["2026-03-04T05:06:07Z", 0, "2026-03-04T05:06:07Z"],
  ])("keeps the RFC 3339 timestamp %s to the nanosecond", async (written, nanos, read) => {
    const sessionId = newSession();
    expect(
      (await restPost(server.baseUrl, "/v1/events", restEvent({ session_id: sessionId, timestamp: written }))).status,
    ).toBe(202);
    const [stored] = await viaConnect(sessionId);
    expect(stored.timestamp).toMatchObject({ seconds: BigInt(Date.parse("2026-03-04T05:06:07Z") / 1000), nanos });
    expect((await viaRest(sessionId)).body.events[0].timestamp).toBe(read);
  });

  it("POST /v1/events/batch stores the good events and lists each bad one with its reasons", async () => {
    const sessionId = newSession();
    const good1 = restEvent({ session_id: sessionId, event_id: `good1-${sessionId}` });
    const good2 = restEvent({
      session_id: sessionId,
      event_id: `good2-${sessionId}`,
      content: { kind: "message", role: "user", text: "hi" },
    });
    const noSession = restEvent({ event_id: `bad1-${sessionId}`, session_id: undefined });
    const badEnum = restEvent({ session_id: sessionId, event_id: `bad2-${sessionId}`, status: "DONE" });
    const badKind = restEvent({ session_id: sessionId, event_id: `bad3-${sessionId}`, content: { kind: "video" } });
    const answer = await restPost(server.baseUrl, "/v1/events/batch", {
      batch_id: "b-1",
      events: [good1, noSession, badEnum, good2, badKind, 42],
    });
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({
      batch_id: "b-1",
      accepted_count: 2,
      rejected_count: 4,
      rejected_event_ids: [noSession.event_id, badEnum.event_id, badKind.event_id, "#5"],
      rejections: [
        { event_id: noSession.event_id, reason: "events[1].session_id: is required" },
        { event_id: badEnum.event_id, reason: expect.stringMatching(/^events\[2\]\.status: "DONE" is not/) },
        { event_id: badKind.event_id, reason: expect.stringMatching(/^events\[4\]\.content\.kind: must be one of/) },
        { event_id: "#5", reason: expect.stringContaining("events[5].event_id: is required") },
      ],
    });
    expect((await viaConnect(sessionId)).map((e) => e.eventId)).toEqual([good1.event_id, good2.event_id]);

    // Sent again, the good events are still stored once.
    await restPost(server.baseUrl, "/v1/events/batch", { events: [good1, good2] });
    expect(await viaConnect(sessionId)).toHaveLength(2);
  });

  describe("POST /v1/query paging", () => {
    const sessionId = newSession();
    const ids: string[] = [];
    beforeAll(async () => {
      const events: Event[] = Array.from({ length: 25 }, (_, i) => {
        const event = fullEvent(EVERY_CONTENT[i % EVERY_CONTENT.length]);
        const timestamp = create(TimestampSchema, { seconds: 1_770_000_000n + BigInt(i), nanos: i });
        Object.assign(event, { tenantId: TENANT, sessionId, timestamp });
        ids.push(event.eventId);
        return event;
      });
      await connect.client.ingestEventBatch({ eventBatch: { batchId: sessionId, events } });
    });

    async function allPages(extra: Record<string, unknown>): Promise<string[][]> {
      const pages: string[][] = [];
      let token = "";
      do {
        const answer = await viaRest(sessionId, { page_size: 10, page_token: token, ...extra });
        expect(answer.status).toBe(200);
        pages.push(answer.body.events.map((e: { event_id: string }) => e.event_id));
        token = answer.body.next_page_token;
      } while (token);
      return pages;
    }

    it.each(["ASC", "SORT_ORDER_ASC"])("pages oldest first with order_by_time %s", async (order) => {
      const pages = await allPages({ order_by_time: order });
      expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
      expect(pages.flat()).toEqual(ids);
    });

    it.each([["DESC"], [undefined]])(
      "pages newest first with order_by_time %s (DESC is the default)",
      async (order) => {
        const pages = await allPages(order ? { order_by_time: order } : {});
        expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
        expect(pages.flat()).toEqual([...ids].reverse());
      },
    );
  });
});
