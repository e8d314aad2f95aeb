import { randomUUID } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CountingRelay } from "../../support/counting-relay.ts";
import { storeKinds } from "../../support/databases.ts";
import { startTestServer, type TestServer } from "../../support/server.ts";
import { type GrpcJsClient, grpcJsClient, type Plain } from "./grpc-js-client.ts";

/** A tenant of a test's own, so each test runs alone or in any order. */
const newTenant = () => `grpc-js-${randomUUID()}`;

/**
 * An event as a grpc-js user writes it: proto field names, enum names, int64 as a string. Struct
 * values are camelCase (stringValue): protobufjs has its own copy of the well-known types, with
 * camelCase field names whatever keepCase says.
 */
function plainEvent(tenantId: string, sessionId: string, type: string, seconds: number): Plain {
  return {
    event_id: `grpc-${randomUUID()}`,
    tenant_id: tenantId,
    project_id: "web",
    session_id: sessionId,
    type,
    status: "EVENT_STATUS_STARTED",
    severity: "SEVERITY_INFO",
    timestamp: { seconds: String(seconds), nanos: 123_456_789 },
    tags: ["grpc-js"],
    message: { role: "user", text: "hello over h2c", metadata: { fields: { lang: { stringValue: "en" } } } },
    metadata: { fields: { sdk: { stringValue: "grpc-js" }, attempt: { numberValue: 2 } } },
  };
}

/** A session's start and end, and an event refused for its empty tenant_id, of one tenant. */
function session(tenantId: string) {
  return {
    start: plainEvent(tenantId, "grpc-session-1", "EVENT_TYPE_SESSION_START", 1_764_072_000),
    end: plainEvent(tenantId, "grpc-session-1", "EVENT_TYPE_SESSION_END", 1_764_072_002),
    bad: { ...plainEvent(tenantId, "grpc-session-1", "EVENT_TYPE_SESSION_END", 1_764_072_003), tenant_id: "" } as Plain,
  };
}

describe.each(await storeKinds())(
  "a standard gRPC client (@grpc/grpc-js + proto-loader) over cleartext HTTP/2, %s store",
  (kind) => {
    let server: TestServer;
    let client: GrpcJsClient;
    let clientService: GrpcJsClient;
    beforeAll(async () => {
      server = await startTestServer(kind);
      const address = `127.0.0.1:${server.port}`;
      client = grpcJsClient("chaukas.spec.server.v1.ChaukasServerService", address);
      clientService = grpcJsClient("chaukas.spec.client.v1.ChaukasClientService", address);
    });
    afterAll(async () => {
      client.close();
      clientService.close();
      await server.close();
    });

    /** A new tenant's session as the ingest tests below send it: start alone, then end in a batch with one bad event. */
    async function storeSession() {
      const sent = session(newTenant());
      await client.call("IngestEvent", { event: sent.start });
      expect(await client.call("IngestEventBatch", { event_batch: { events: [sent.end, sent.bad] } })).toMatchObject({
        accepted_count: 1,
      });
      return sent;
    }

    it("answers Healthz and GetCapabilities", async () => {
      expect(await client.call("Healthz", {})).toEqual({});
      const { capabilities } = await client.call("GetCapabilities", {});
      expect(capabilities).toMatchObject({
        policy_decisions: true,
        data_access_events: true,
        audit_proofs: true,
      });
    });

    it("ingests one event", async () => {
      const { start } = session(newTenant());
      const res = await client.call("IngestEvent", { event: start });
      expect(res).toMatchObject({ event_id: start.event_id, status: "accepted" });
      expect(res.processed_at).toMatch(/^\d+$/);
    });

    it("ingests a batch, accepting the valid event and naming the rejected one", async () => {
      const { end, bad } = session(newTenant());
      const res = await client.call("IngestEventBatch", { event_batch: { batch_id: "b-1", events: [end, bad] } });
      expect(res).toEqual({
        batch_id: "b-1",
        accepted_count: 1,
        rejected_count: 1,
        rejected_event_ids: [bad.event_id],
      });
    });

    it("queries the events back with every sent field intact", async () => {
      const { start, end } = await storeSession();
      const res = await client.call("QueryEvents", {
        query: {
          filter: { tenant_id: start.tenant_id, session_id: "grpc-session-1" },
          order_by_time: "SORT_ORDER_ASC",
        },
      });
      const events = res.response.events as Plain[];
      expect(events.map((e) => e.event_id)).toEqual([start.event_id, end.event_id]);
      expect(events[0]).toMatchObject(start);
      expect(events[0].content).toBe("message");
      expect(events[1]).toMatchObject(end);
    });

    it("reports event stats keyed by full enum names", async () => {
      const { start } = await storeSession();
      const res = await client.call("GetEventStats", { tenant_id: start.tenant_id });
      expect(res).toEqual({
        total_events: "2",
        total_sessions: "1",
        events_by_type: { EVENT_TYPE_SESSION_START: "1", EVENT_TYPE_SESSION_END: "1" },
        avg_session_duration_ms: 2000,
      });
    });

    it("refuses an invalid event with INVALID_ARGUMENT naming the field", async () => {
      const invalid: Plain = {
        ...plainEvent(newTenant(), "grpc-session-2", "EVENT_TYPE_SESSION_START", 1_764_072_000),
        tenant_id: "",
      };
      const err = await client.call("IngestEvent", { event: invalid }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: status.INVALID_ARGUMENT });
      expect((err as Error).message).toContain("event.tenant_id");
    });

    it("answers a query compressed when the channel compresses its requests, uncompressed otherwise", async () => {
      const tenant = newTenant();
      const events = Array.from({ length: 40 }, (_, i) =>
        plainEvent(tenant, "grpc-session-4", "EVENT_TYPE_AGENT_START", 1_764_072_000 + i),
      );
      await client.call("IngestEventBatch", { event_batch: { events } });
      const query = { query: { filter: { tenant_id: tenant }, page_size: 100 } };
      // The bytes each client's connection receives, counted by a relay in front of the server.
      const received = async (options: Record<string, number>, deadline?: Date) => {
        const relay = new CountingRelay({ host: "127.0.0.1", port: server.port });
        const address = `127.0.0.1:${await relay.listen()}`;
        const viaProxy = grpcJsClient("chaukas.spec.server.v1.ChaukasServerService", address, undefined, options);
        try {
          await viaProxy.call("Healthz", {});
          const before = relay.bytesFromServer;
          const page = await viaProxy.call("QueryEvents", query, { deadline });
          expect(page.response.events).toHaveLength(events.length);
          return relay.bytesFromServer - before;
        } finally {
          viaProxy.close();
          await relay.close();
        }
      };
      // With a deadline, a call is connect-node's, not the direct path's: the same rule holds.
      const inAMinute = () => new Date(Date.now() + 60_000);
      const plain = [await received({}), await received({}, inAMinute())];
      const gzip = [
        await received({ "grpc.default_compression_algorithm": 2 }),
        await received({ "grpc.default_compression_algorithm": 2 }, inAMinute()),
      ];
      expect(Math.min(...plain)).toBeGreaterThan(events.length * 100);
      expect(Math.max(...gzip)).toBeLessThan(Math.min(...plain) / 2);
    });

    it("serves the client service too, with its empty ingest responses", async () => {
      const tenant = newTenant();
      const event = plainEvent(tenant, "grpc-session-3", "EVENT_TYPE_AGENT_START", 1_764_072_010);
      expect(await clientService.call("IngestEvent", { event })).toEqual({});
      expect(await clientService.call("IngestEventBatch", { event_batch: { events: [] } })).toEqual({});
      const res = await clientService.call("QueryEvents", {
        query: { filter: { tenant_id: tenant, session_id: "grpc-session-3" } },
      });
      expect(res.response.events.map((e: Plain) => e.event_id)).toEqual([event.event_id]);
    });
  },
);
