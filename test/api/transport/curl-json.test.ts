import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeKinds } from "../../support/databases.ts";
import { startTestServer, type TestServer } from "../../support/server.ts";

/**
 * What `curl -H 'Content-Type: application/json' -d '{...}' http://host/<service>/<Method>` does:
 * a Connect unary call with a JSON body over HTTP/1.1, answered in the canonical protobuf JSON.
 */
// biome-ignore lint/suspicious/noExplicitAny: a JSON response body, checked by the assertions.
type Json = Record<string, any>;

const SERVER = "chaukas.spec.server.v1.ChaukasServerService";
const CLIENT = "chaukas.spec.client.v1.ChaukasClientService";

/** A tenant of a test's own, so each test runs alone or in any order. */
const newTenant = () => `curl-${randomUUID()}`;

function jsonEvent(tenantId: string, id: string, sessionId: string, type: string, timestamp: string) {
  return {
    eventId: `${tenantId}-${id}`,
    tenantId,
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

/** Session s-1's start and end and session s-2's start, of one tenant. */
function sessions(tenantId: string) {
  return {
    start: jsonEvent(tenantId, "1", "s-1", "EVENT_TYPE_SESSION_START", "2025-11-25T12:00:00.123456789Z"),
    end: jsonEvent(tenantId, "2", "s-1", "EVENT_TYPE_SESSION_END", "2025-11-25T12:00:01.623456789Z"),
    other: jsonEvent(tenantId, "3", "s-2", "EVENT_TYPE_SESSION_START", "2025-11-25T12:00:02Z"),
  };
}

describe.each(await storeKinds())("curl-style JSON POSTs (Connect unary), %s store", (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
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

  /** Stores a new tenant's sessions as the server-service tests below send them: start alone, then end and other. */
  async function storeSessions() {
    const tenant = sessions(newTenant());
    expect((await post(SERVER, "IngestEvent", { event: tenant.start })).status).toBe(200);
    const batch = await post(SERVER, "IngestEventBatch", { eventBatch: { events: [tenant.end, tenant.other] } });
    expect(batch.json).toMatchObject({ acceptedCount: 2 });
    return tenant;
  }

  describe(SERVER, () => {
    it("Healthz answers an empty object", async () => {
      expect(await post(SERVER, "Healthz", {})).toEqual({ status: 200, contentType: "application/json", json: {} });
    });

    it("GetCapabilities lists only the true capabilities (false is JSON's default)", async () => {
      const { json } = await post(SERVER, "GetCapabilities", {});
      expect(json).toEqual({
        capabilities: { auditProofs: true, policyDecisions: true, dataAccessEvents: true },
      });
    });

    it("IngestEvent answers with processedAt as an int64 string", async () => {
      const { start } = sessions(newTenant());
      const { status, json } = await post(SERVER, "IngestEvent", { event: start });
      expect(status).toBe(200);
      expect(json).toEqual({ eventId: start.eventId, status: "accepted", processedAt: expect.stringMatching(/^\d+$/) });
    });

    it("IngestEventBatch counts accepted and rejected events", async () => {
      const { end, other } = sessions(newTenant());
      const bad = { ...other, eventId: `${other.tenantId}-bad`, type: "EVENT_TYPE_UNSPECIFIED" };
      const { json } = await post(SERVER, "IngestEventBatch", {
        eventBatch: { batchId: "batch-1", events: [end, other, bad] },
      });
      expect(json).toEqual({ batchId: "batch-1", acceptedCount: 2, rejectedCount: 1, rejectedEventIds: [bad.eventId] });
    });

    it("QueryEvents returns the events exactly as sent, timestamps to the nanosecond", async () => {
      const { start, end } = await storeSessions();
      await server.audit.integrateAndSign(); // what the server's ingest queue drain does every second
      const { json } = await post(SERVER, "QueryEvents", {
        query: { filter: { tenantId: start.tenantId, sessionId: "s-1" }, orderByTime: "SORT_ORDER_ASC" },
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
      const { start } = await storeSessions();
      const { json } = await post(SERVER, "GetEventStats", { tenantId: start.tenantId });
      expect(json).toEqual({
        totalEvents: "3",
        totalSessions: "2",
        eventsByType: { EVENT_TYPE_SESSION_START: "2", EVENT_TYPE_SESSION_END: "1" },
        avgSessionDurationMs: 1500,
      });
    });

    it("an invalid event is a 400 with code invalid_argument and a message naming the field", async () => {
      const { start } = sessions(newTenant());
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
        capabilities: { auditProofs: true, policyDecisions: true, dataAccessEvents: true },
      });
    });

    /** Stores one event with IngestEvent and one with IngestEventBatch, checking both answer `{}`. */
    async function storeThroughClient(tenantId: string) {
      const one = jsonEvent(tenantId, "c1", "s-client", "EVENT_TYPE_AGENT_START", "2025-11-25T13:00:00Z");
      const two = jsonEvent(tenantId, "c2", "s-client", "EVENT_TYPE_AGENT_END", "2025-11-25T13:00:01Z");
      expect(await post(CLIENT, "IngestEvent", { event: one })).toEqual({
        status: 200,
        contentType: "application/json",
        json: {},
      });
      expect((await post(CLIENT, "IngestEventBatch", { eventBatch: { events: [two] } })).json).toEqual({});
    }

    it("IngestEvent and IngestEventBatch answer empty objects", async () => {
      await storeThroughClient(newTenant());
    });

    it("QueryEvents returns what the client service stored", async () => {
      const tenant = newTenant();
      await storeThroughClient(tenant);
      const { json } = await post(CLIENT, "QueryEvents", {
        query: { filter: { tenantId: tenant, sessionId: "s-client" }, orderByTime: "SORT_ORDER_DESC" },
      });
      expect(json.response.events.map((e: { eventId: string }) => e.eventId)).toEqual([`${tenant}-c2`, `${tenant}-c1`]);
    });
  });
});
