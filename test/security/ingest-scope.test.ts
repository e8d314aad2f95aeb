import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { create, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChaukasClientService } from "../../gen/chaukas/spec/client/v1/client_pb.ts";
import { type Event, EventSchema } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { QueryRequestSchema } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { SDK_HEADERS } from "../../kit/sdk-headers.ts";
import { buildServer } from "../../src/api/server.ts";
import { eventService } from "../../src/app.ts";
import { eventToRestJson } from "../../src/codec/formats/rest-json.ts";
import { UNRESTRICTED } from "../../src/core/access.ts";
import { KeyAuthenticator } from "../../src/core/authenticator.ts";
import { decodedQueryResponse } from "../../src/core/event-page.ts";
import type { EventService } from "../../src/core/event-service.ts";
import { createApiKey } from "../../src/core/key-admin.ts";
import { batchRequestBytes, eventRequestBytes, SdkHttp } from "../api/http/sdk/sdk-like.ts";
import { testAuditTrail } from "../support/audit.ts";
import { openTestStore, storeKinds } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";
import { TEST_SERVER_OPTIONS } from "../support/server.ts";

/**
 * What an ingest route answered for one event: stored, refused whole (permission_denied / 403),
 * or rejected inside a batch. `undefined` when the route's answer does not say (the client
 * package's empty IngestEventBatchResponse): the store then tells alone.
 */
type Answer = "accepted" | "permission_denied" | "rejected" | undefined;

interface Route {
  name: string;
  send: (event: Event, headers: Headers) => Promise<Answer>;
}

/** Ingest through a Connect client, mapping a refusal to its outcome. */
async function connectCall(call: () => Promise<Answer>): Promise<Answer> {
  try {
    return await call();
  } catch (err) {
    if (ConnectError.from(err).code === Code.PermissionDenied) return "permission_denied";
    throw err;
  }
}

/** Every route that ingests, over every protocol and body format it takes (binary batches read event bytes: wire-ingest.ts). */
function ingestRoutes(baseUrl: string, sdk: SdkHttp): Route[] {
  const transports: [string, () => Transport][] = [
    ["gRPC", () => createGrpcTransport({ baseUrl })],
    ["gRPC-Web", () => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })],
    ["Connect binary", () => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true })],
    ["Connect JSON", () => createConnectTransport({ baseUrl, httpVersion: "1.1" })],
  ];
  const batchAnswer = (rejectedCount: number): Answer => (rejectedCount > 0 ? "rejected" : "accepted");
  const connectRoutes = transports.flatMap(([protocol, transport]): Route[] => {
    const server = () => createClient(ChaukasServerService, transport());
    const client = () => createClient(ChaukasClientService, transport());
    const rpc = (name: string, call: (event: Event, headers: Headers) => Promise<Answer>): Route => ({
      name: `${protocol} ${name}`,
      send: (event, headers) => connectCall(() => call(event, headers)),
    });
    const stored = async (call: Promise<unknown>): Promise<Answer> => {
      await call;
      return "accepted";
    };
    const batchOf = (event: Event) => ({ eventBatch: { events: [event] } });
    return [
      rpc("server.IngestEvent", (e, headers) => stored(server().ingestEvent({ event: e }, { headers }))),
      rpc("server.IngestEventBatch", async (e, headers) =>
        batchAnswer((await server().ingestEventBatch(batchOf(e), { headers })).rejectedCount),
      ),
      rpc("client.IngestEvent", (e, headers) => stored(client().ingestEvent({ event: e }, { headers }))),
      rpc(
        "client.IngestEventBatch",
        async (e, headers) => void (await client().ingestEventBatch(batchOf(e), { headers })),
      ),
    ];
  });

  const post = async (path: string, body: unknown, headers: Headers) => {
    headers.set("content-type", "application/json");
    const res = await fetch(`${baseUrl}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
    const json = (await res.json()) as { rejected_count?: number; rejected?: number };
    if (res.status === 403) return { denied: true, rejected: 0 };
    expect(res.ok, `${path} answered ${res.status}: ${JSON.stringify(json)}`).toBe(true);
    return { denied: false, rejected: json.rejected_count ?? json.rejected ?? 0 };
  };
  const single = ({ denied }: { denied: boolean }): Answer => (denied ? "permission_denied" : "accepted");
  const batch = ({ denied, rejected }: { denied: boolean; rejected: number }): Answer =>
    denied ? "permission_denied" : batchAnswer(rejected);
  const sdkPost = async (path: string, body: Uint8Array | string, headers: Headers, contentType: string) => {
    const answer = await sdk.post(path, body, {
      ...SDK_HEADERS,
      "content-type": contentType,
      authorization: headers.get("authorization") ?? "",
    });
    if (answer.status === 403) return { denied: true, rejected: 0 };
    expect(answer.status, `${path} answered ${answer.status}: ${answer.text}`).toBe(200);
    return { denied: false, rejected: (JSON.parse(answer.text) as { rejected: number }).rejected };
  };
  const jsonEvent = (event: Event) => toJson(EventSchema, event);

  return [
    ...connectRoutes,
    { name: "REST POST /v1/events", send: async (e, h) => single(await post("/v1/events", eventToRestJson(e), h)) },
    {
      name: "REST POST /v1/events/batch",
      send: async (e, h) => batch(await post("/v1/events/batch", { events: [eventToRestJson(e)] }, h)),
    },
    {
      name: "SDK POST /events (binary)",
      send: async (e, h) => single(await sdkPost("/events", eventRequestBytes(e), h, "application/x-protobuf")),
    },
    {
      name: "SDK POST /events (JSON)",
      send: async (e, h) =>
        single(await sdkPost("/events", JSON.stringify({ event: jsonEvent(e) }), h, "application/json")),
    },
    {
      name: "SDK POST /events/batch (binary)",
      send: async (e, h) => batch(await sdkPost("/events/batch", batchRequestBytes([e]), h, "application/x-protobuf")),
    },
    {
      name: "SDK POST /events/batch (JSON)",
      send: async (e, h) =>
        batch(
          await sdkPost(
            "/events/batch",
            JSON.stringify({ eventBatch: { events: [jsonEvent(e)] } }),
            h,
            "application/json",
          ),
        ),
    },
  ];
}

describe.each(await storeKinds())("what an ingest key limited to one project may write (%s)", (kind) => {
  let events: EventService;
  let routes: Route[] = [];
  let webOnly = "";
  let close: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const opened = await openTestStore(kind);
    webOnly = (await createApiKey(opened.store.keys, { tenantId: "acme", role: "ingest", projects: ["web"] })).secret;
    events = eventService(opened.store, { rbac: true });
    const authenticator = new KeyAuthenticator(opened.store.keys, undefined, () => {});
    const app = await buildServer(events, {
      ...TEST_SERVER_OPTIONS,
      audit: testAuditTrail(opened.store),
      authenticator,
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const sdk = new SdkHttp(baseUrl);
    routes = ingestRoutes(baseUrl, sdk);
    close = async () => {
      sdk.close();
      await app.close();
      await opened.close();
    };
  });
  afterAll(() => close());

  /** Sends one event of a session of its own through every route, as the web-only key; the session names the route. */
  async function sendThroughEveryRoute(init: {
    tenantId: string;
    projectId: string;
  }): Promise<{ route: Route; session: string; answer: Answer }[]> {
    const sent = [];
    for (const route of routes) {
      const session = `${route.name}-${randomBytes(4).toString("hex")}`;
      const answer = await route.send(makeEvent({ ...init, sessionId: session }), bearer(webOnly));
      sent.push({ route, session, answer });
    }
    return sent;
  }

  /** The events of tenant acme in a session, as stored, read past every scope. */
  async function storedIn(session: string): Promise<Event[]> {
    const page = await events.queryEvents(
      UNRESTRICTED,
      create(QueryRequestSchema, { filter: { tenantId: "acme", sessionId: session } }),
    );
    return decodedQueryResponse(page).events;
  }

  /**
   * One line per route, `route: answer, stored tenant/project...`, so a failure lists every route
   * that broke the rule. A route whose answer does not say is left to the store.
   */
  async function outcomes(init: { tenantId: string; projectId: string }): Promise<string[]> {
    const lines = [];
    for (const { route, session, answer } of await sendThroughEveryRoute(init)) {
      const stored = (await storedIn(session)).map((e) => `${e.tenantId}/${e.projectId}`);
      lines.push(`${route.name}: ${answer ?? "-"}, stored [${stored.join(" ")}]`);
    }
    return lines;
  }

  const expectedLines = (answer: (route: string) => string, stored: string) =>
    routes.map((r) => `${r.name}: ${answer(r.name)}, stored [${stored}]`);
  /** The client package's batch answer is empty, so only the store tells what it did. */
  const silent = (name: string) => name.endsWith("client.IngestEventBatch");

  it("refuses, on every route, an event of a project outside the key's, and stores nothing of it", async () => {
    expect(await outcomes({ tenantId: "acme", projectId: "mobile" })).toEqual(
      expectedLines((name) => (silent(name) ? "-" : /batch/i.test(name) ? "rejected" : "permission_denied"), ""),
    );
  });

  it("fills, on every route, an event's empty tenant and project from the key, and stores it there", async () => {
    expect(await outcomes({ tenantId: "", projectId: "" })).toEqual(
      expectedLines((name) => (silent(name) ? "-" : "accepted"), "acme/web"),
    );
  });

  it("takes, on every route, an event of the key's own project", async () => {
    expect(await outcomes({ tenantId: "acme", projectId: "web" })).toEqual(
      expectedLines((name) => (silent(name) ? "-" : "accepted"), "acme/web"),
    );
  });
});

function bearer(secret: string): Headers {
  return new Headers({ authorization: `Bearer ${secret}` });
}
