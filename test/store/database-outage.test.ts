import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IngestEventBatchRequestSchema } from "../../gen/chaukas/spec/client/v1/client_pb.ts";
import { EventType } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { eventService } from "../../src/app.ts";
import { KeyAuthenticator } from "../../src/core/authenticator.ts";
import { bootstrapAdminKey } from "../../src/core/key-admin.ts";
import type { Database } from "../../src/store/database.ts";
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { type Served, serve } from "../api/rpc/serve.ts";
import { grpcJsClient } from "../api/transport/grpc-js-client.ts";
import { testAuditTrail } from "../support/audit.ts";
import { type PrivateCluster, privateClustersAvailable, startPrivateCluster } from "../support/private-cluster.ts";

/**
 * A server over a PostgreSQL cluster of the test's own, stopped and frozen under it: every protocol
 * answers `unavailable` with a retry delay while the database cannot serve, and serves again, with
 * no restart, once it is back.
 */

/** The server's bounds: small, so a frozen database is given up within seconds. */
const TIMEOUTS = { statementMs: 1_000, connectMs: 1_000 };
/**
 * How long a client waits for any answer: far past the server's bounds (a frozen statement is
 * given up after 3 s), so a request that hangs fails as a timeout instead of hanging the suite.
 */
const CLIENT_DEADLINE_MS = 30_000;
const SERVICE = ChaukasServerService.typeName;

interface Answer {
  answer: string;
  retryAfter?: string | null;
}

/**
 * The same small ingest over Connect JSON, gRPC (grpc-js), gRPC-Web, REST and the SDK's route,
 * each as its own client sees the answer.
 */
class Clients {
  readonly #baseUrl: string;
  readonly #authorization: string;
  readonly #grpc: ReturnType<typeof grpcJsClient>;

  constructor(baseUrl: string, secret: string) {
    this.#baseUrl = baseUrl;
    this.#authorization = `Bearer ${secret}`;
    const authorization = this.#authorization;
    const keyAndDeadline: grpc.Interceptor = (options, nextCall) =>
      new grpc.InterceptingCall(nextCall({ ...options, deadline: Date.now() + CLIENT_DEADLINE_MS }), {
        start(metadata, listener, next) {
          metadata.set("authorization", authorization);
          next(metadata, listener);
        },
      });
    this.#grpc = grpcJsClient("chaukas.spec.server.v1.ChaukasServerService", new URL(baseUrl).host, undefined, {
      interceptors: [keyAndDeadline],
    });
  }

  /** Each protocol ingests one event of `sessionId`, all at once. */
  async ingestEverywhere(sessionId: string): Promise<Record<string, Answer>> {
    const [connectJson, grpcJs, grpcWeb, rest, sdk] = await Promise.all([
      this.#connectJson(sessionId),
      this.#grpcJs(sessionId),
      this.#grpcWeb(sessionId),
      this.#rest(sessionId),
      this.#sdk(sessionId),
    ]);
    return { connectJson, grpcJs, grpcWeb, rest, sdk };
  }

  /** The ids of the events stored for `sessionId`. */
  async storedIds(sessionId: string): Promise<string[]> {
    const client = createClient(
      ChaukasServerService,
      createConnectTransport({ baseUrl: this.#baseUrl, httpVersion: "1.1" }),
    );
    const res = await client.queryEvents(
      { query: { filter: { tenantId: "default", sessionId }, pageSize: 1000 } },
      { headers: { authorization: this.#authorization }, timeoutMs: CLIENT_DEADLINE_MS },
    );
    return (res.response?.events ?? []).map((event) => event.eventId).sort();
  }

  close(): void {
    this.#grpc.close();
  }

  /** A raw Connect JSON call, as curl makes it: the HTTP status, Retry-After and the error code. */
  async #connectJson(sessionId: string): Promise<Answer> {
    const event = { ...eventFields(sessionId, "connect-json"), type: "EVENT_TYPE_AGENT_START" };
    const res = await fetch(`${this.#baseUrl}/${SERVICE}/IngestEventBatch`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: this.#authorization },
      body: JSON.stringify({ eventBatch: { batchId: "b", events: [event] } }),
      signal: AbortSignal.timeout(CLIENT_DEADLINE_MS),
    });
    const body = (await res.json()) as { code?: string; acceptedCount?: number };
    if (res.ok) return { answer: `ok ${body.acceptedCount}` };
    return { answer: `${res.status} ${body.code}`, retryAfter: res.headers.get("retry-after") };
  }

  /** A standard gRPC client over h2c: the status number and name, and the retry-after trailer. */
  async #grpcJs(sessionId: string): Promise<Answer> {
    const event = {
      ...snakeCase(eventFields(sessionId, "grpc-js")),
      type: "EVENT_TYPE_AGENT_START",
      timestamp: { seconds: "1764072000", nanos: 0 },
    };
    try {
      const res = await this.#grpc.call("IngestEventBatch", { event_batch: { batch_id: "b", events: [event] } });
      return { answer: `ok ${res.accepted_count}` };
    } catch (err) {
      const { code, metadata } = err as grpc.ServiceError;
      return { answer: `${code} ${grpc.status[code]}`, retryAfter: String(metadata?.get("retry-after")[0]) };
    }
  }

  /** gRPC-Web through connect-node's client: the code and the retry-after trailer. */
  async #grpcWeb(sessionId: string): Promise<Answer> {
    const transport = createGrpcWebTransport({ baseUrl: this.#baseUrl, httpVersion: "1.1" });
    const client = createClient(ChaukasServerService, transport);
    const options = { headers: { authorization: this.#authorization }, timeoutMs: CLIENT_DEADLINE_MS };
    const event = {
      ...eventFields(sessionId, "grpc-web"),
      type: EventType.AGENT_START,
      timestamp: { seconds: 1_764_072_000n },
    };
    try {
      const res = await client.ingestEventBatch({ eventBatch: { batchId: "b", events: [event] } }, options);
      return { answer: `ok ${res.acceptedCount}` };
    } catch (err) {
      const { code, metadata } = ConnectError.from(err);
      return { answer: Code[code], retryAfter: metadata.get("retry-after") };
    }
  }

  /** The public REST API: the HTTP status, Retry-After and the error of the JSON body. */
  async #rest(sessionId: string): Promise<Answer> {
    const event = { ...snakeCase(eventFields(sessionId, "rest")), type: "AGENT_START", status: "STARTED" };
    const res = await fetch(`${this.#baseUrl}/v1/events/batch`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: this.#authorization },
      body: JSON.stringify({ batch_id: "b", events: [event] }),
      signal: AbortSignal.timeout(CLIENT_DEADLINE_MS),
    });
    const body = (await res.json()) as { error?: string; accepted_count?: number };
    if (res.ok) return { answer: `ok ${body.accepted_count}` };
    return { answer: `${res.status} ${body.error}`, retryAfter: res.headers.get("retry-after") };
  }

  /** The Python SDK's batch route, in binary protobuf: the HTTP status, Retry-After and the error of the JSON body. */
  async #sdk(sessionId: string): Promise<Answer> {
    const event = { ...eventFields(sessionId, "sdk"), type: EventType.AGENT_START, timestamp: timestampFromMs(0) };
    const batch = create(IngestEventBatchRequestSchema, { eventBatch: { batchId: "b", events: [event] } });
    const res = await fetch(`${this.#baseUrl}/events/batch`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf", authorization: this.#authorization },
      body: toBinary(IngestEventBatchRequestSchema, batch),
      signal: AbortSignal.timeout(CLIENT_DEADLINE_MS),
    });
    const body = (await res.json()) as { error?: string; accepted?: number };
    if (res.ok) return { answer: `ok ${body.accepted}` };
    return { answer: `${res.status} ${body.error}`, retryAfter: res.headers.get("retry-after") };
  }
}

/** One event's fields (camelCase) in tenant "default", the bootstrap key's; its id names the protocol. */
function eventFields(sessionId: string, protocol: string) {
  return {
    eventId: `${protocol}-${sessionId}`,
    tenantId: "default",
    projectId: "web",
    sessionId,
    timestamp: "2026-11-25T12:00:00Z",
  };
}

function snakeCase(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(fields).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]),
  );
}

const PROTOCOLS = ["connect-json", "grpc-js", "grpc-web", "rest", "sdk"];
const idsOf = (sessionId: string) => PROTOCOLS.map((protocol) => `${protocol}-${sessionId}`).sort();
const STORED = {
  connectJson: { answer: "ok 1" },
  grpcJs: { answer: "ok 1" },
  grpcWeb: { answer: "ok 1" },
  rest: { answer: "ok 1" },
  sdk: { answer: "ok 1" },
};
const UNAVAILABLE = {
  connectJson: { answer: "503 unavailable", retryAfter: "1" },
  grpcJs: { answer: "14 UNAVAILABLE", retryAfter: "1" },
  grpcWeb: { answer: "Unavailable", retryAfter: "1" },
  rest: { answer: "503 unavailable", retryAfter: "1" },
  sdk: { answer: "503 unavailable", retryAfter: "1" },
};

describe.skipIf(!privateClustersAvailable())("when the PostgreSQL under a running server goes away", () => {
  let cluster: PrivateCluster;
  let store: Database;
  let served: Served;
  let clients: Clients;

  // initdb and a first migration on a shared, loaded machine.
  beforeAll(async () => {
    cluster = await startPrivateCluster();
    const log = { info: () => {}, error: () => {} };
    store = await openDatabase({ kind: "postgres", databaseUrl: cluster.url, poolSize: 2, timeouts: TIMEOUTS }, log);
    const key = await bootstrapAdminKey(store.keys);
    if (!key) throw new Error("the new database already had a key");
    served = await serve(eventService(store), {
      audit: testAuditTrail(store),
      authenticator: new KeyAuthenticator(store.keys, undefined, () => {}),
    });
    clients = new Clients(served.baseUrl, key.secret);
  }, 120_000);
  afterAll(async () => {
    clients?.close();
    await served?.closeGracefully(10_000);
    await cluster?.destroy();
    await store?.close();
  }, 60_000);

  it("stopped: every protocol answers unavailable with retry-after; restarted: all serve again", async () => {
    const before = `before-${randomUUID()}`;
    expect(await clients.ingestEverywhere(before)).toEqual(STORED);

    await cluster.stop();
    const during = `stopped-${randomUUID()}`;
    expect(await clients.ingestEverywhere(during)).toEqual(UNAVAILABLE);

    await cluster.start();
    const after = `after-${randomUUID()}`;
    expect(await clients.ingestEverywhere(after)).toEqual(STORED);
    // What was acknowledged is there; what was refused is not.
    expect(await clients.storedIds(before)).toEqual(idsOf(before));
    expect(await clients.storedIds(during)).toEqual([]);
    expect(await clients.storedIds(after)).toEqual(idsOf(after));
  }, 120_000);

  it("frozen: every protocol answers unavailable within the bounds; thawed: all serve again", async () => {
    const before = `before-${randomUUID()}`;
    // Both of the pool's connections open, so frozen requests meet open connections as well as a full pool.
    await Promise.all([clients.ingestEverywhere(before), clients.storedIds(before)]);

    cluster.freeze();
    const during = `frozen-${randomUUID()}`;
    let answers: Record<string, Answer>;
    try {
      answers = await clients.ingestEverywhere(during);
    } finally {
      cluster.thaw();
    }
    expect(answers).toEqual(UNAVAILABLE);

    const after = `after-${randomUUID()}`;
    expect(await clients.ingestEverywhere(after)).toEqual(STORED);
    expect(await clients.storedIds(before)).toEqual(idsOf(before));
    expect(await clients.storedIds(after)).toEqual(idsOf(after));
  }, 120_000);
});
