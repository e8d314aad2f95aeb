import http from "node:http";
import { equals } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChaukasClientService } from "../../../../gen/chaukas/spec/client/v1/client_pb.ts";
import { type Event, EventSchema } from "../../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { IngestGate } from "../../../../src/core/ingest-gate.ts";
import { storeKinds } from "../../../support/databases.ts";
import { withoutIntegrity } from "../../../support/events.ts";
import type { QueryClient } from "../../../support/query-client.ts";
import type { TestServer } from "../../../support/server.ts";
import { batchRequestBytes, eventRequestBytes, SdkHttp, sdkSession, startSdkTestServer, TENANT } from "./sdk-like.ts";
import { SimulatedSdk } from "./simulated-sdk.ts";

const NO_HEAP_BOUND = Number.MAX_SAFE_INTEGER;

/** Every event stored exactly once, and stored as sent. */
function expectStoredOnce(stored: Event[], sent: Event[]): void {
  const ids = stored.map((e) => e.eventId);
  expect(new Set(ids).size).toBe(ids.length);
  expect([...ids].sort()).toEqual(sent.map((e) => e.eventId).sort());
  const byId = new Map(stored.map((e) => [e.eventId, e]));
  expect(sent.every((e) => equals(EventSchema, e, withoutIntegrity(byId.get(e.eventId) as Event)))).toBe(true);
}

describe.each(await storeKinds())("backpressure on the %s store", (kind) => {
  describe("with at most 8 events in flight", () => {
    let server: TestServer;
    let sdkHttp: SdkHttp;
    let query: QueryClient;
    let close: () => Promise<void>;
    beforeAll(async () => {
      const gate = new IngestGate({ maxInFlightEvents: 8, maxHeapBytes: NO_HEAP_BOUND });
      ({ server, sdk: sdkHttp, query, close } = await startSdkTestServer(kind, {}, gate));
    });
    afterAll(() => close());

    it("refuses a batch over the bound with 503, Retry-After and 'high memory usage', storing none of it", async () => {
      const events = sdkSession(20);
      const answer = await sdkHttp.post("/events/batch", batchRequestBytes(events));
      expect(answer.status).toBe(503);
      expect(answer.headers["retry-after"]).toMatch(/^[1-9]\d*$/);
      const body = JSON.parse(answer.text);
      expect(body).toMatchObject({ error: "unavailable" });
      expect(body.message).toMatch(/high memory usage/i);
      expect(await query.all({ tenantId: TENANT, sessionId: events[0].sessionId })).toEqual([]);
    });

    it("lets an SDK that halves its batches on 503 store every event exactly once", async () => {
      const sent = [...sdkSession(20), ...sdkSession(20), ...sdkSession(20), ...sdkSession(13)];
      const sdk = new SimulatedSdk(sdkHttp, { batchSize: 20, loseEveryNthAnswer: 4 });
      sdk.enqueue(sent);
      await sdk.drain();
      // 20 and then 10 are over the bound of 8: every full batch was refused twice before fitting.
      expect(sdk.overloaded.length).toBeGreaterThanOrEqual(6);
      for (const answer of sdk.overloaded) expect(answer.headers["retry-after"]).toMatch(/^[1-9]\d*$/);
      // Lost answers made the SDK send some events again.
      expect(sdk.requeued).toBeGreaterThan(0);
      const sessions = new Set(sent.map((e) => e.sessionId));
      const stored = (await query.all({ tenantId: TENANT }, 7)).filter((e) => sessions.has(e.sessionId));
      expectStoredOnce(stored, sent);
    });

    it("lets several SDKs sending at once store every event exactly once", async () => {
      const sdks = Array.from({ length: 5 }, () => new SimulatedSdk(sdkHttp, { batchSize: 20, loseEveryNthAnswer: 3 }));
      const sent = sdks.flatMap((sdk) => {
        const events = [...sdkSession(20), ...sdkSession(17)];
        sdk.enqueue(events);
        return events;
      });
      await Promise.all(sdks.map((sdk) => sdk.drain()));
      expect(sdks.every((sdk) => sdk.overloaded.length > 0)).toBe(true);
      const sessions = new Set(sent.map((e) => e.sessionId));
      const stored = (await query.all({ tenantId: TENANT }, 50)).filter((e) => sessions.has(e.sessionId));
      expectStoredOnce(stored, sent);
    });

    describe.each([
      ["Connect over HTTP/1.1", "connect"],
      ["gRPC over HTTP/2", "grpc"],
    ] as const)("a %s client", (_, protocol) => {
      let transport: Transport;
      let close: () => void;
      beforeAll(() => {
        if (protocol === "grpc") {
          const sessions = new Http2SessionManager(server.baseUrl);
          transport = createGrpcTransport({ baseUrl: server.baseUrl, sessionManager: sessions });
          close = () => sessions.abort();
        } else {
          const agent = new http.Agent({ keepAlive: true });
          transport = createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1", nodeOptions: { agent } });
          close = () => agent.destroy();
        }
      });
      afterAll(() => close());

      it("gets resource_exhausted with a retry-after value, and the refused batch stores nothing", async () => {
        const client = createClient(ChaukasClientService, transport);
        const events = sdkSession(20);
        const error = await client.ingestEventBatch({ eventBatch: { batchId: "over", events } }).then(
          () => undefined,
          (err: unknown) => ConnectError.from(err),
        );
        expect(error?.code).toBe(Code.ResourceExhausted);
        expect(error?.rawMessage).toMatch(/high memory usage/i);
        expect(error?.metadata.get("retry-after")).toMatch(/^[1-9]\d*$/);
        expect(await query.all({ tenantId: TENANT, sessionId: events[0].sessionId })).toEqual([]);

        // Within the bound the same client is served.
        await client.ingestEventBatch({ eventBatch: { batchId: "fits", events: events.slice(0, 8) } });
        expectStoredOnce(await query.all({ tenantId: TENANT, sessionId: events[0].sessionId }), events.slice(0, 8));
      });
    });
  });

  describe("with many concurrent requests inside the bound", () => {
    let server: TestServer;
    let query: QueryClient;
    let close: () => Promise<void>;
    beforeAll(async () => {
      const gate = new IngestGate({ maxInFlightEvents: 200, maxHeapBytes: NO_HEAP_BOUND });
      ({ server, query, close } = await startSdkTestServer(kind, {}, gate));
    });
    afterAll(() => close());

    it("serves them all and stores the exact count", async () => {
      // 30 batches of 5 and 50 single events: 200 events, so even all at once they fit.
      const batches = Array.from({ length: 30 }, () => sdkSession(5));
      const singles = Array.from({ length: 50 }, () => sdkSession(1)[0]);
      const clients = Array.from({ length: 10 }, () => new SdkHttp(server.baseUrl));
      try {
        const answers = await Promise.all([
          ...batches.map((events, i) => clients[i % 10].post("/events/batch", batchRequestBytes(events))),
          ...singles.map((event, i) => clients[i % 10].post("/events", eventRequestBytes(event))),
        ]);
        expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
      } finally {
        for (const client of clients) client.close();
      }
      const sent = [...batches.flat(), ...singles];
      expectStoredOnce(await query.all({ tenantId: TENANT }, 1000), sent);
    });
  });
});

describe("backpressure from the heap bound", () => {
  let sdkHttp: SdkHttp;
  let query: QueryClient;
  let close: () => Promise<void>;
  beforeAll(async () => {
    // A heap bound every process is over: all ingest is refused, queries still work.
    const gate = new IngestGate({ maxInFlightEvents: 1000, maxHeapBytes: 1 });
    ({ sdk: sdkHttp, query, close } = await startSdkTestServer("embedded", {}, gate));
  });
  afterAll(() => close());

  it("refuses even one event with 503 'high memory usage' on the SDK's and the REST routes", async () => {
    const [event] = sdkSession(1);
    const sdk = await sdkHttp.post("/events", eventRequestBytes(event));
    const rest = await sdkHttp.post(
      "/v1/events",
      JSON.stringify({
        event_id: "e1",
        tenant_id: TENANT,
        project_id: "p",
        session_id: "s",
        type: "SESSION_START",
        status: "STARTED",
        timestamp: "2026-01-01T00:00:00Z",
      }),
      { "content-type": "application/json" },
    );
    for (const answer of [sdk, rest]) {
      expect(answer.status).toBe(503);
      expect(answer.headers["retry-after"]).toMatch(/^[1-9]\d*$/);
      expect(JSON.parse(answer.text).message).toMatch(/^high memory usage: heap at/);
    }
    expect(await query.all({ tenantId: TENANT })).toEqual([]);
  });
});
