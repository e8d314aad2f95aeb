import { create, fromBinary, type MessageInitShape, toBinary, toJson } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { IngestEventBatchWireSchema } from "../../../gen/chaukas/backend/v1/ingest_wire_pb.ts";
import { EventSchema, EventType } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { ChaukasServerService, IngestEventBatchResponseSchema } from "../../../gen/chaukas/spec/server/v1/server_pb.ts";
import { MAX_BATCH_EVENTS } from "../../../src/core/event-service.ts";
import { storeKinds } from "../../support/databases.ts";
import { makeEvent } from "../../support/events.ts";
import { startTestServer, type TestServer } from "../../support/server.ts";
import {
  connectClient,
  expectInvalidArgument,
  expectStillServing,
  newSession,
  postRaw,
  SERVICES,
  type SpecClient,
  storedEvents,
} from "./rpc.ts";

type EventInit = MessageInitShape<typeof EventSchema>;

describe.each(await storeKinds())("bad input on the %s store", (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server?.close();
  });

  /** A valid event as proto3 JSON, for requests built by hand. */
  const eventJson = (init: EventInit = {}) => toJson(EventSchema, makeEvent(init)) as Record<string, unknown>;

  describe.each(SERVICES.map((s) => [s.typeName, s] as const))("%s", (_name, service) => {
    let client: SpecClient;
    /** An ingest answer: the server package's fields, or the client package's message with none. */
    const expectIngestAnswer = (answer: object, serverFields: Record<string, unknown>) => {
      if (service === ChaukasServerService) expect(answer).toMatchObject(serverFields);
      else expect(Object.keys(answer).filter((key) => !key.startsWith("$"))).toEqual([]);
    };
    beforeAll(() => {
      client = connectClient(service, server.baseUrl);
    });
    // Whatever a test sent, the next good request is served.
    afterEach(async () => {
      await expectStillServing(client);
    });

    describe("undecodable requests", () => {
      it("answers a malformed protobuf body with internal, gRPC's code for an unparsable request message", async () => {
        // Field 1 (event) announces 2^32 bytes and ends: the message cannot be read.
        const truncated = new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
        // Field 1 with wire type 7, which does not exist.
        const badWireType = new Uint8Array([0x0f, 0x01, 0x02]);
        for (const body of [truncated, badWireType]) {
          const answer = await postRaw(server.baseUrl, service, "IngestEvent", body, "application/proto");
          expect(answer.status).toBe(500);
          expect(answer.json?.code).toBe("internal");
          expect(answer.json?.message).toMatch(/^parse binary: /);
        }
      });

      it("answers malformed JSON with invalid_argument", async () => {
        for (const body of [
          "{not json",
          '{"event": ',
          "[]",
          '{"event": 42}',
          '{"event": {"timestamp": "yesterday"}}',
        ]) {
          const answer = await postRaw(server.baseUrl, service, "IngestEvent", body, "application/json");
          expect(answer, body).toMatchObject({ status: 400, json: { code: "invalid_argument" } });
        }
      });

      it("answers a content type Connect does not speak with HTTP 415", async () => {
        const body = JSON.stringify({ event: eventJson() });
        for (const contentType of ["text/plain", "application/xml", "application/x-www-form-urlencoded"]) {
          const answer = await postRaw(server.baseUrl, service, "IngestEvent", body, contentType);
          expect(answer.status, contentType).toBe(415);
        }
      });
    });

    describe("invalid events", () => {
      it.each(["binary", "json"] as const)("refuses enum numbers no value names (%s)", async (format) => {
        const c = connectClient(service, server.baseUrl, format);
        const cases: [string, EventInit][] = [
          ["event.type", { type: 999 as EventType }],
          ["event.status", { status: 77 as EventInit["status"] }],
          ["event.severity", { severity: 9 as EventInit["severity"] }],
          ["event.author", { author: 42 as EventInit["author"] }],
        ];
        for (const [field, init] of cases) {
          await expectInvalidArgument(() => c.ingestEvent({ event: makeEvent(init) }), field);
        }
      });

      it("refuses an enum number no value names in hand-written JSON", async () => {
        const body = JSON.stringify({ event: { ...eventJson(), type: 999, severity: 17 } });
        const answer = await postRaw(server.baseUrl, service, "IngestEvent", body, "application/json");
        expect(answer).toMatchObject({ status: 400, json: { code: "invalid_argument" } });
        expect(answer.json?.message).toContain("event.type: 999 is not a value");
        expect(answer.json?.message).toContain("event.severity: 17 is not a value");
      });

      it("refuses an unknown EventType name or field in JSON instead of dropping it", async () => {
        for (const event of [
          { ...eventJson(), type: "EVENT_TYPE_TELEPORT" },
          { ...eventJson(), severity: "SEVERITY_CRITICAL" },
          { ...eventJson(), colour: "blue" },
        ]) {
          const body = JSON.stringify({ event });
          const answer = await postRaw(server.baseUrl, service, "IngestEvent", body, "application/json");
          expect(answer).toMatchObject({ status: 400, json: { code: "invalid_argument" } });
        }
      });

      it.each<[string, EventInit]>([
        ["event.event_id", { eventId: "" }],
        ["event.tenant_id", { tenantId: "" }],
        ["event.project_id", { projectId: "" }],
        ["event.session_id", { sessionId: "" }],
        ["event.type", { type: EventType.UNSPECIFIED }],
        ["event.timestamp", { timestamp: undefined }],
      ])("refuses an event without %s, naming it", async (field, init) => {
        const sessionId = newSession();
        await expectInvalidArgument(() => client.ingestEvent({ event: makeEvent({ sessionId, ...init }) }), field);
        expect(await storedEvents(client, sessionId)).toEqual([]);
      });

      it("refuses a request without an event", async () => {
        await expectInvalidArgument(() => client.ingestEvent({}), "event");
        const answer = await postRaw(server.baseUrl, service, "IngestEvent", "{}", "application/json");
        expect(answer).toMatchObject({
          status: 400,
          json: { code: "invalid_argument", message: "event: is required" },
        });
      });

      it("refuses a page token it did not issue, naming query.page_token", async () => {
        const query = { filter: { tenantId: "acme" }, pageToken: "forged.token" };
        await expectInvalidArgument(() => client.queryEvents({ query }), "query.page_token");
      });
    });

    describe("batches", () => {
      it("stores the good events of a mixed batch and lists the bad ones, `#<index>` for one without id", async () => {
        const sessionId = newSession();
        const good = [makeEvent({ sessionId }), makeEvent({ sessionId })];
        const badWithId = makeEvent({ sessionId, tenantId: "" });
        const badWithoutId = makeEvent({ sessionId, eventId: "", type: 999 as EventType });
        const events = [good[0], badWithId, badWithoutId, good[1]];

        const res = await client.ingestEventBatch({ eventBatch: { batchId: "batch-mixed", events } });

        expectIngestAnswer(res, {
          batchId: "batch-mixed",
          acceptedCount: 2,
          rejectedCount: 2,
          rejectedEventIds: [badWithId.eventId, "#2"],
        });
        const stored = await storedEvents(client, sessionId);
        expect(stored.map((e) => e.eventId).sort()).toEqual(good.map((e) => e.eventId).sort());
      });

      it("stores the rest of a binary batch when one event's bytes cannot be decoded, and rejects that one", async () => {
        const sessionId = newSession();
        const good = [makeEvent({ sessionId }), makeEvent({ sessionId })];
        // Field 1 (event_id) announces 5 bytes and holds 1.
        const broken = new Uint8Array([0x0a, 0x05, 0x61]);
        const events = [toBinary(EventSchema, good[0]), broken, toBinary(EventSchema, good[1])];
        const body = toBinary(
          IngestEventBatchWireSchema,
          create(IngestEventBatchWireSchema, { eventBatch: { events } }),
        );
        const res = await fetch(`${server.baseUrl}/${service.typeName}/IngestEventBatch`, {
          method: "POST",
          headers: { "content-type": "application/proto" },
          body,
        });
        expect(res.status).toBe(200);
        const answer = new Uint8Array(await res.arrayBuffer());
        // The client package's answer is an empty message: no bytes.
        if (service === ChaukasServerService) {
          expect(fromBinary(IngestEventBatchResponseSchema, answer)).toMatchObject({
            acceptedCount: 2,
            rejectedCount: 1,
            rejectedEventIds: ["#1"],
          });
        } else expect(answer).toEqual(new Uint8Array());
        const stored = await storedEvents(client, sessionId);
        expect(stored.map((e) => e.eventId).sort()).toEqual(good.map((e) => e.eventId).sort());
      });

      it("accepts an empty batch and a request without one, storing nothing", async () => {
        const stats = connectClient(ChaukasServerService, server.baseUrl) as Client<typeof ChaukasServerService>;
        const storedCount = async () => (await stats.getEventStats({ tenantId: "acme" })).totalEvents;
        const before = await storedCount();
        for (const request of [{}, { eventBatch: { batchId: "empty" } }]) {
          expectIngestAnswer(await client.ingestEventBatch(request), { acceptedCount: 0, rejectedCount: 0 });
        }
        expect(await storedCount()).toBe(before);
      });

      it(`refuses a batch of more than MAX_BATCH_EVENTS (${MAX_BATCH_EVENTS}) events, storing none`, async () => {
        const sessionId = newSession();
        const events = Array.from({ length: MAX_BATCH_EVENTS + 1 }, () => makeEvent({ sessionId }));
        await expectInvalidArgument(
          () => client.ingestEventBatch({ eventBatch: { batchId: "too-big", events } }),
          "event_batch.events",
        );
        expect(await storedEvents(client, sessionId)).toEqual([]);
      });
    });

    describe("re-sent events", () => {
      it("accepts an event sent twice and stores it once", async () => {
        const sessionId = newSession();
        const event = makeEvent({ sessionId });
        const first = await client.ingestEvent({ event });
        const second = await client.ingestEvent({ event });
        expectIngestAnswer(first, { eventId: event.eventId, status: "accepted" });
        expectIngestAnswer(second, { eventId: event.eventId, status: "accepted" });
        expect((await storedEvents(client, sessionId)).map((e) => e.eventId)).toEqual([event.eventId]);
      });

      it("accepts a batch re-sent whole, and an event repeated inside one batch, storing each event once", async () => {
        const sessionId = newSession();
        const a = makeEvent({ sessionId });
        const b = makeEvent({ sessionId });
        for (const events of [
          [a, b],
          [a, b],
          [b, b, a],
        ]) {
          const res = await client.ingestEventBatch({ eventBatch: { events } });
          expectIngestAnswer(res, { acceptedCount: events.length });
        }
        expect((await storedEvents(client, sessionId)).map((e) => e.eventId).sort()).toEqual(
          [a.eventId, b.eventId].sort(),
        );
      });

      it("keeps the first copy when an event id is re-sent with other content", async () => {
        const sessionId = newSession();
        const event = makeEvent({ sessionId, agentName: "first" });
        await client.ingestEvent({ event });
        await client.ingestEvent({ event: { ...event, agentName: "second" } });
        expect((await storedEvents(client, sessionId)).map((e) => e.agentName)).toEqual(["first"]);
      });
    });
  });
});
