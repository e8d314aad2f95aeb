import http from "node:http";
import { create, createRegistry, equals } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChaukasClientService } from "../../../gen/chaukas/spec/client/v1/client_pb.ts";
import { type Event, EventSchema } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { file_chaukas_spec_common_v1_query, SortOrder } from "../../../gen/chaukas/spec/common/v1/query_pb.ts";
import { ChaukasServerService } from "../../../gen/chaukas/spec/server/v1/server_pb.ts";
import { storeKinds } from "../../support/databases.ts";
import { EVERY_CONTENT, fullEvent, withoutIntegrity } from "../../support/events.ts";
import { startTestServer, type TestServer } from "../../support/server.ts";

/** fullEvent packs a TimeRange into `extensions`: JSON clients must know that type to (un)pack the Any. */
const registry = createRegistry(file_chaukas_spec_common_v1_query);

interface Connections {
  baseUrl: string;
  agent: http.Agent;
  sessions: Http2SessionManager;
}

/** Every protocol and HTTP version a connect-node client can speak to the one port. */
const TRANSPORTS: { name: string; make: (c: Connections) => Transport }[] = [
  {
    // connect-node's gRPC transport is HTTP/2 only.
    name: "gRPC over HTTP/2",
    make: ({ baseUrl, sessions }) => createGrpcTransport({ baseUrl, sessionManager: sessions }),
  },
  {
    name: "gRPC-Web over HTTP/1.1",
    make: ({ baseUrl, agent }) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1", nodeOptions: { agent } }),
  },
  {
    name: "Connect binary over HTTP/1.1",
    make: ({ baseUrl, agent }) =>
      createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true, nodeOptions: { agent } }),
  },
  {
    name: "Connect JSON over HTTP/1.1",
    make: ({ baseUrl, agent }) =>
      createConnectTransport({
        baseUrl,
        httpVersion: "1.1",
        useBinaryFormat: false,
        jsonOptions: { registry },
        nodeOptions: { agent },
      }),
  },
  {
    name: "Connect binary over HTTP/2",
    make: ({ baseUrl, sessions }) =>
      createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true, sessionManager: sessions }),
  },
  {
    name: "Connect JSON over HTTP/2",
    make: ({ baseUrl, sessions }) =>
      createConnectTransport({
        baseUrl,
        httpVersion: "2",
        useBinaryFormat: false,
        jsonOptions: { registry },
        sessionManager: sessions,
      }),
  },
];

/** An event of its own session, so a query by session finds exactly the events of one test. */
function eventInSession(content: (typeof EVERY_CONTENT)[number], sessionId: string): Event {
  const event = fullEvent(content);
  event.sessionId = sessionId;
  return event;
}

const kinds = await storeKinds();

describe.each(kinds)("round trip on the %s store", (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(() => server.close());

  describe.each(TRANSPORTS)("$name", ({ make }) => {
    let connections: Connections;
    let serverClient: Client<typeof ChaukasServerService>;
    let clientClient: Client<typeof ChaukasClientService>;
    beforeAll(() => {
      connections = {
        baseUrl: server.baseUrl,
        agent: new http.Agent({ keepAlive: true }),
        sessions: new Http2SessionManager(server.baseUrl),
      };
      const transport = make(connections);
      serverClient = createClient(ChaukasServerService, transport);
      clientClient = createClient(ChaukasClientService, transport);
    });
    afterAll(() => {
      connections.sessions.abort();
      connections.agent.destroy();
    });

    it.each(EVERY_CONTENT.map((content) => [content.case, content] as const))(
      "stores an event with %s content and queries it back unchanged",
      async (_, content) => {
        const event = eventInSession(content, `rt-${Math.random().toString(36).slice(2)}`);
        const ingested = await serverClient.ingestEvent({ event });
        expect(ingested.eventId).toBe(event.eventId);
        expect(ingested.status).toBe("accepted");

        await server.audit.integrateAndSign(); // what the server's ingest queue drain does every second
        const { response } = await serverClient.queryEvents({
          query: { filter: { tenantId: event.tenantId, sessionId: event.sessionId } },
        });
        expect(response?.events).toHaveLength(1);
        // The server adds the integrity fields; all else is as sent.
        expect(response?.events[0].contentHash).toMatch(/^[0-9a-f]{64}$/);
        const back = withoutIntegrity(response?.events[0] as Event);
        // toEqual shows a readable diff on failure; equals is protobuf's own field-by-field comparison.
        expect(back).toEqual(event);
        expect(back.timestamp).toEqual(event.timestamp);
        expect(equals(EventSchema, back, event)).toBe(true);
      },
    );

    it("stores a batch through the client service and queries it back in time order", async () => {
      const sessionId = `batch-${Math.random().toString(36).slice(2)}`;
      const events = EVERY_CONTENT.map((content) => eventInSession(content, sessionId));
      events.forEach((event, i) => {
        event.timestamp = create(TimestampSchema, { seconds: 1_764_072_000n + BigInt(i), nanos: i });
      });
      const ingested = await clientClient.ingestEventBatch({ eventBatch: { batchId: sessionId, events } });
      expect(ingested.$typeName).toBe("chaukas.spec.client.v1.IngestEventBatchResponse");

      const { response } = await clientClient.queryEvents({
        query: { filter: { tenantId: "acme", sessionId }, orderByTime: SortOrder.ASC },
      });
      expect(response?.events.map((e) => e.eventId)).toEqual(events.map((e) => e.eventId));
      response?.events.forEach((back, i) => {
        expect(equals(EventSchema, withoutIntegrity(back), events[i])).toBe(true);
      });
    });
  });
});
