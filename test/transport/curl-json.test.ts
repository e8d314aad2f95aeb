import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.ts";

/**
 * What `curl -H 'Content-Type: application/json' -d '{...}' http://host/<service>/<Method>` does:
 * a Connect unary call with a JSON body over HTTP/1.1, answered in the canonical protobuf JSON.
 */
// biome-ignore lint/suspicious/noExplicitAny: a JSON response body, checked by the assertions.
type Json = Record<string, any>;

const TENANT = `curl-${randomUUID()}`;
const SERVER = "chaukas.spec.server.v1.ChaukasServerService";
const CLIENT = "chaukas.spec.client.v1.ChaukasClientService";

function jsonEvent(id: string, sessionId: string, type: string, timestamp: string) {
  return {
    eventId: id,
    tenantId: TENANT,
    projectId: "web",
    sessionId,
    type,
    severity: "SEVERITY_INFO",
    status: "EVENT_STATUS_STARTED",
    timestamp,
    tags: ["curl"],
    message: { role: "user", text: "sent with curl", metadata: { lang: "en" } },
    metadata: { sdk: "curl", nested: { list: [1, "two", true, null] } },
  };
}

const start = jsonEvent(`${TENANT}-1`, "s-1", "EVENT_TYPE_SESSION_START", "2025-11-25T12:00:00.123456789Z");
const end = jsonEvent(`${TENANT}-2`, "s-1", "EVENT_TYPE_SESSION_END", "2025-11-25T12:00:01.623456789Z");
const other = jsonEvent(`${TENANT}-3`, "s-2", "EVENT_TYPE_SESSION_START", "2025-11-25T12:00:02Z");

describe("curl-style JSON POSTs (Connect unary)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  async function post(service: string, method: string, body: unknown) {
    const res = await fetch(`${server.baseUrl}/${service}/${method}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, contentType: res.headers.get("content-type"), json: (await res.json()) as Json };
  }

  describe(SERVER, () => {
    it("Healthz answers an empty object", async () => {
      expect(await post(SERVER, "Healthz", {})).toEqual({ status: 200, contentType: "application/json", json: {} });
    });

    it("GetCapabilities lists only the true capabilities (false is JSON's default)", async () => {
      const { json } = await post(SERVER, "GetCapabilities", {});
      expect(json).toEqual({
        capabilities: { wormRetention: true, auditProofs: true, policyDecisions: true, dataAccessEvents: true },
      });
    });

    it("IngestEvent answers with processedAt as an int64 string", async () => {
      const { status, json } = await post(SERVER, "IngestEvent", { event: start });
      expect(status).toBe(200);
      expect(json).toEqual({ eventId: start.eventId, status: "accepted", processedAt: expect.stringMatching(/^\d+$/) });
    });

    it("IngestEventBatch counts accepted and rejected events", async () => {
      const bad = { ...other, eventId: `${TENANT}-bad`, type: "EVENT_TYPE_UNSPECIFIED" };
      const { json } = await post(SERVER, "IngestEventBatch", {
        eventBatch: { batchId: "batch-1", events: [end, other, bad] },
      });
      expect(json).toEqual({ batchId: "batch-1", acceptedCount: 2, rejectedCount: 1, rejectedEventIds: [bad.eventId] });
    });

    it("QueryEvents returns the events exactly as sent, timestamps to the nanosecond", async () => {
      await server.audit.integrateAndSign(); // what the server's checkpointer does every second
      const { json } = await post(SERVER, "QueryEvents", {
        query: { filter: { tenantId: TENANT, sessionId: "s-1" }, orderByTime: "SORT_ORDER_ASC" },
      });
      // With the integrity fields the server assigns: `end` came next in the tenant's log, and
      // one checkpoint (of size 3) is the first to include both.
      const hex = expect.stringMatching(/^[0-9a-f]{64}$/);
      expect(json).toEqual({
        response: {
          events: [
            { ...start, contentHash: hex, wormProofId: "checkpoint/3" },
            { ...end, contentHash: hex, hashPrev: json.response.events[0].contentHash, wormProofId: "checkpoint/3" },
          ],
        },
      });
    });

    it("GetEventStats keys eventsByType by full enum names, int64 counts as strings", async () => {
      const { json } = await post(SERVER, "GetEventStats", { tenantId: TENANT });
      expect(json).toEqual({
        totalEvents: "3",
        totalSessions: "2",
        eventsByType: { EVENT_TYPE_SESSION_START: "2", EVENT_TYPE_SESSION_END: "1" },
        avgSessionDurationMs: 1500,
      });
    });

    it("an invalid event is a 400 with code invalid_argument and a message naming the field", async () => {
      const { status, json } = await post(SERVER, "IngestEvent", { event: { ...start, tenantId: "" } });
      expect(status).toBe(400);
      expect(json.code).toBe("invalid_argument");
      expect(json.message).toContain("event.tenant_id");
    });
  });

  describe(CLIENT, () => {
    it("Healthz and GetCapabilities answer like the server service", async () => {
      expect((await post(CLIENT, "Healthz", {})).json).toEqual({});
      expect((await post(CLIENT, "GetCapabilities", {})).json).toEqual({
        capabilities: { wormRetention: true, auditProofs: true, policyDecisions: true, dataAccessEvents: true },
      });
    });

    it("IngestEvent and IngestEventBatch answer empty objects", async () => {
      const one = jsonEvent(`${TENANT}-c1`, "s-client", "EVENT_TYPE_AGENT_START", "2025-11-25T13:00:00Z");
      const two = jsonEvent(`${TENANT}-c2`, "s-client", "EVENT_TYPE_AGENT_END", "2025-11-25T13:00:01Z");
      expect(await post(CLIENT, "IngestEvent", { event: one })).toEqual({
        status: 200,
        contentType: "application/json",
        json: {},
      });
      expect((await post(CLIENT, "IngestEventBatch", { eventBatch: { events: [two] } })).json).toEqual({});
    });

    it("QueryEvents returns what the client service stored", async () => {
      const { json } = await post(CLIENT, "QueryEvents", {
        query: { filter: { tenantId: TENANT, sessionId: "s-client" }, orderByTime: "SORT_ORDER_DESC" },
      });
      expect(json.response.events.map((e: { eventId: string }) => e.eventId)).toEqual([`${TENANT}-c2`, `${TENANT}-c1`]);
    });
  });
});
