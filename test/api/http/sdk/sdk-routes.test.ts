import { create, equals, toBinary, toJson } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IngestEventBatchWireSchema } from "../../../../gen/chaukas/backend/v1/ingest_wire_pb.ts";
import {
  IngestEventBatchRequestSchema,
  IngestEventRequestSchema,
} from "../../../../gen/chaukas/spec/client/v1/client_pb.ts";
import { type Event, EventSchema, EventType } from "../../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { SDK_HEADERS } from "../../../../kit/sdk-headers.ts";
import { jsonRegistry } from "../../../../src/codec/formats/registry.ts";
import { storeKinds } from "../../../support/databases.ts";
import { withoutIntegrity } from "../../../support/events.ts";
import type { QueryClient } from "../../../support/query-client.ts";
import {
  batchRequestBytes,
  eventRequestBytes,
  type SdkHttp,
  sdkSession,
  startSdkTestServer,
  TENANT,
  UUID7,
  uuid7,
} from "./sdk-like.ts";

const JSON_HEADERS = { ...SDK_HEADERS, "content-type": "application/json" };

function expectSameEvents(back: Event[], sent: Event[]): void {
  expect(back.map((e) => e.eventId)).toEqual(sent.map((e) => e.eventId));
  back.forEach((event, i) => {
    expect(equals(EventSchema, withoutIntegrity(event), sent[i])).toBe(true);
  });
}

describe.each(await storeKinds())("the Python SDK's routes on the %s store", (kind) => {
  let sdk: SdkHttp;
  let query: QueryClient;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ sdk, query, close } = await startSdkTestServer(kind));
  });
  afterAll(() => close());

  it("stores one event posted as a binary IngestEventRequest", async () => {
    const [event] = sdkSession(1);
    expect(event.eventId).toMatch(UUID7);
    const answer = await sdk.post("/events", eventRequestBytes(event));
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toMatch(/^application\/json/);
    expect(JSON.parse(answer.text)).toEqual({ accepted: 1, rejected: 0, rejected_event_ids: [], rejections: [] });
    expectSameEvents(await query.all({ tenantId: TENANT, sessionId: event.sessionId }), [event]);
  });

  it("stores a batch of 20 posted as a binary IngestEventBatchRequest, every content kind included", async () => {
    const events = sdkSession(20);
    const batchId = uuid7();
    const answer = await sdk.post("/events/batch", batchRequestBytes(events, batchId));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({
      batch_id: batchId,
      accepted: 20,
      rejected: 0,
      rejected_event_ids: [],
      rejections: [],
    });
    const back = await query.all({ tenantId: TENANT, sessionId: events[0].sessionId });
    expectSameEvents(back, events);
    expect(back.slice(1).every((e) => e.parentSpanId === events[0].spanId)).toBe(true);
  });

  it("accepts the same messages as protobuf JSON with Content-Type application/json", async () => {
    const [single, ...rest] = sdkSession(6);
    const one = toJson(IngestEventRequestSchema, create(IngestEventRequestSchema, { event: single }), {
      registry: jsonRegistry,
    });
    expect((await sdk.post("/events", JSON.stringify(one), JSON_HEADERS)).status).toBe(200);
    const batch = toJson(
      IngestEventBatchRequestSchema,
      create(IngestEventBatchRequestSchema, { eventBatch: { batchId: uuid7(), events: rest } }),
      { registry: jsonRegistry },
    );
    const answer = await sdk.post("/events/batch", JSON.stringify(batch), JSON_HEADERS);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ accepted: 5, rejected: 0 });
    expectSameEvents(await query.all({ tenantId: TENANT, sessionId: single.sessionId }), [single, ...rest]);
  });

  it.each(["/events", "/events/batch"])(
    "answers undecodable binary on %s with 400 and a clear JSON body",
    async (path) => {
      // Field 1, length-delimited, claims 5 bytes but the body ends after 1.
      const answer = await sdk.post(path, Uint8Array.of(0x0a, 0x05, 0x01));
      expect(answer.status).toBe(400);
      const body = JSON.parse(answer.text);
      expect(body.error).toBe("invalid_argument");
      expect(body.violations).toEqual([
        { field: "body", description: expect.stringMatching(/^is not a valid chaukas\.spec\.client\.v1\.IngestEvent/) },
      ]);
      expect(body.message).toContain("body: is not a valid");
    },
  );

  it("answers an invalid single event with 400 naming its fields, and stores nothing", async () => {
    const [event] = sdkSession(1);
    event.tenantId = "";
    event.type = EventType.UNSPECIFIED;
    const answer = await sdk.post("/events", eventRequestBytes(event));
    expect(answer.status).toBe(400);
    const fields = JSON.parse(answer.text).violations.map((v: { field: string }) => v.field);
    expect(fields).toEqual(expect.arrayContaining(["event.tenant_id", "event.type"]));
  });

  it("stores the good events of a batch and lists the bad ones with their reasons", async () => {
    const events = sdkSession(5);
    const [, noTenant, noType] = events;
    noTenant.tenantId = "";
    noType.type = EventType.UNSPECIFIED;
    const answer = await sdk.post("/events/batch", batchRequestBytes(events));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({
      accepted: 3,
      rejected: 2,
      rejected_event_ids: [noTenant.eventId, noType.eventId],
      rejections: [
        { event_id: noTenant.eventId, reason: expect.stringContaining("event_batch.events[1].tenant_id: is required") },
        { event_id: noType.eventId, reason: expect.stringContaining("event_batch.events[2].type: is required") },
      ],
    });
    const good = [events[0], events[3], events[4]];
    expectSameEvents(await query.all({ tenantId: TENANT, sessionId: events[0].sessionId }), good);
  });

  it("stores the rest of a binary batch when one event's bytes cannot be decoded, and gives the reason", async () => {
    const events = sdkSession(3);
    // Field 1 (event_id) announces 5 bytes and holds 1.
    const broken = new Uint8Array([0x0a, 0x05, 0x61]);
    const batch = { events: [toBinary(EventSchema, events[0]), broken, toBinary(EventSchema, events[2])] };
    const answer = await sdk.post(
      "/events/batch",
      toBinary(IngestEventBatchWireSchema, create(IngestEventBatchWireSchema, { eventBatch: batch })),
    );
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({
      accepted: 2,
      rejected: 1,
      rejected_event_ids: ["#1"],
      rejections: [
        {
          event_id: "#1",
          reason: expect.stringMatching(/^event_batch\.events\[1\]: is not a valid chaukas\.spec\.common\.v1\.Event: /),
        },
      ],
    });
    expectSameEvents(await query.all({ tenantId: TENANT, sessionId: events[0].sessionId }), [events[0], events[2]]);
  });

  it("answers a binary single event whose bytes cannot be decoded with 400 and the reason", async () => {
    // IngestEventRequest.event holding an event whose field 1 (event_id) announces 5 bytes and holds 1.
    const answer = await sdk.post("/events", new Uint8Array([0x0a, 0x03, 0x0a, 0x05, 0x61]));
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text).violations).toEqual([
      { field: "event", description: expect.stringMatching(/^is not a valid chaukas\.spec\.common\.v1\.Event: /) },
    ]);
  });

  it("stores nothing twice when the SDK re-sends a batch", async () => {
    const events = sdkSession(8);
    const body = batchRequestBytes(events);
    for (let i = 0; i < 3; i++) {
      expect((await sdk.post("/events/batch", body)).status).toBe(200);
    }
    // And once more, one by one, as a requeue after a failure would.
    for (const event of events.slice(0, 3)) {
      expect((await sdk.post("/events", eventRequestBytes(event))).status).toBe(200);
    }
    expectSameEvents(await query.all({ tenantId: TENANT, sessionId: events[0].sessionId }), events);
  });

  it("refuses a body of another content type with 415 and a JSON body", async () => {
    const answer = await sdk.post("/events", "<event/>", { ...SDK_HEADERS, "content-type": "application/xml" });
    expect(answer.status).toBe(415);
    expect(JSON.parse(answer.text)).toMatchObject({ error: "unsupported_media_type" });
  });
});

describe("the Python SDK's routes under sdkPathPrefix /api", () => {
  let sdk: SdkHttp;
  let query: QueryClient;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ sdk, query, close } = await startSdkTestServer("embedded", { sdkPathPrefix: "/api" }));
  });
  afterAll(() => close());

  it("serves /api/events and /api/events/batch", async () => {
    const [first, ...rest] = sdkSession(4);
    expect((await sdk.post("/api/events", eventRequestBytes(first))).status).toBe(200);
    expect((await sdk.post("/api/events/batch", batchRequestBytes(rest))).status).toBe(200);
    expectSameEvents(await query.all({ tenantId: TENANT, sessionId: first.sessionId }), [first, ...rest]);
  });

  it.each(["/events", "/events/batch"])("no longer serves %s at the root", async (path) => {
    const events = sdkSession(1);
    const answer = await sdk.post(path, path === "/events" ? eventRequestBytes(events[0]) : batchRequestBytes(events));
    expect(answer.status).toBe(404);
    expect(await query.all({ tenantId: TENANT, sessionId: events[0].sessionId })).toEqual([]);
  });
});
