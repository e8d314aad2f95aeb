import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import { createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventSchema } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { type ServerProcess, startServerProcess } from "../../kit/server-process.ts";
import { adminKeyFile } from "../../src/app.ts";
import { createTestDatabase, type StoreKind, storeKinds } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";
import { freePort } from "../support/private-cluster.ts";
import { Scrape } from "./scrape.ts";

/**
 * `GET /metrics` of a real server process, read with a Prometheus text parser, moves as real
 * traffic arrives over Connect, gRPC, gRPC-Web, REST and the SDK's routes, on both stores.
 */

const MAX_INFLIGHT_EVENTS = 5;
const event = () => makeEvent({ tenantId: "default" });

describe.each(await storeKinds())("metrics on the %s store", (kind: StoreKind) => {
  let server: ServerProcess;
  let dataDir: string;
  let key: string;
  let databaseUrl: string | undefined;
  let dropDatabase = async () => {};
  const metricsUrl = () => `${server.baseUrl}/metrics`;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "chaukas-metrics-"));
    const args = ["--data-dir", dataDir, "--max-inflight-events", String(MAX_INFLIGHT_EVENTS)];
    // No integration round during the test: the ingest queue keeps what was stored.
    args.push("--checkpoint-interval-ms", "3600000");
    if (kind === "postgres") {
      const db = await createTestDatabase();
      dropDatabase = db.drop;
      databaseUrl = db.url;
      args.push("--database-url", db.url);
    }
    server = await startServerProcess(args);
    key = readFileSync(adminKeyFile({ databaseUrl, dataDir }), "utf8").trim();
  });
  afterAll(async () => {
    await server?.stop();
    await dropDatabase();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const withKey: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${key}`);
    return next(req);
  };
  const transports: [string, () => Transport][] = [
    ["connect", () => createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1", interceptors: [withKey] })],
    ["grpc", () => createGrpcTransport({ baseUrl: server.baseUrl, interceptors: [withKey] })],
    [
      "grpc-web",
      () => createGrpcWebTransport({ baseUrl: server.baseUrl, httpVersion: "1.1", interceptors: [withKey] }),
    ],
  ];
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.baseUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}`, ...headers },
      body: JSON.stringify(body),
    });

  it("serves the Node.js defaults and the build's version without a key", async () => {
    const scrape = await Scrape.of(metricsUrl());
    for (const name of ["process_cpu_seconds_total", "nodejs_eventloop_lag_seconds", "nodejs_gc_duration_seconds"]) {
      expect(scrape.has(name), name).toBe(true);
    }
    const version = JSON.parse(readFileSync(join(import.meta.dirname, "..", "..", "package.json"), "utf8")).version;
    expect(scrape.labels("chaukas_build_info")).toEqual([{ version, node: process.version }]);
    expect(scrape.type("chaukas_rpc_request_duration_seconds")).toBe("HISTOGRAM");
  });

  it.each(transports)("counts events and requests of %s", async (protocol, transport) => {
    const before = await Scrape.of(metricsUrl());
    const client = createClient(ChaukasServerService, transport());
    const batch = [event(), event(), makeEvent({ tenantId: "default", sessionId: "" })];
    const answer = await client.ingestEventBatch({ eventBatch: { events: batch } });
    expect(answer).toMatchObject({ acceptedCount: 2, rejectedCount: 1 });
    await client.ingestEventBatch({ eventBatch: { events: batch.slice(0, 1) } });

    const after = await Scrape.of(metricsUrl());
    const moved = after.movedSince(before);
    expect(moved("chaukas_ingest_events_received_total", { protocol })).toBe(4);
    expect(moved("chaukas_ingest_events_accepted_total")).toBe(3);
    expect(moved("chaukas_ingest_events_rejected_total", { reason: "invalid" })).toBe(1);
    expect(moved("chaukas_ingest_events_duplicate_total")).toBe(1);
    expect(moved("chaukas_ingest_batch_events")).toBe(2);
    const rpc = { service: ChaukasServerService.typeName, method: "IngestEventBatch", protocol };
    expect(moved("chaukas_rpc_requests_total", { ...rpc, code: "ok" })).toBe(2);
    expect(moved("chaukas_rpc_request_duration_seconds", rpc)).toBe(2);
    expect(moved("chaukas_db_statement_duration_seconds", { op: "insertEvents" })).toBe(2);
    expect(moved("chaukas_ingest_queue_depth")).toBe(2);
    expect(after.value("chaukas_audit_integration_lag_seconds")).toBeGreaterThan(0);
  });

  it("counts the REST API's and the SDK's events by protocol", async () => {
    const before = await Scrape.of(metricsUrl());
    const restEvent = (id: string) => ({
      event_id: id,
      project_id: "web",
      session_id: "s",
      type: "AGENT_START",
      status: "STARTED",
      timestamp: "2026-12-01T10:00:00Z",
    });
    // The first has no timestamp: refused before the domain sees it.
    const { timestamp: _, ...untimed } = restEvent(`rest-${kind}-1`);
    const restBatch = { events: [untimed, restEvent(`rest-${kind}-2`)] };
    expect((await post("/v1/events/batch", restBatch)).status).toBe(202);
    expect((await post("/events/batch", { eventBatch: { events: [toJson(EventSchema, event())] } })).status).toBe(200);

    const after = await Scrape.of(metricsUrl());
    const moved = after.movedSince(before);
    expect(moved("chaukas_ingest_events_received_total", { protocol: "rest" })).toBe(2);
    expect(moved("chaukas_ingest_events_received_total", { protocol: "sdk" })).toBe(1);
    expect(moved("chaukas_ingest_events_rejected_total", { reason: "invalid" })).toBe(1);
    expect(moved("chaukas_ingest_events_accepted_total")).toBe(2);
    const restRequest = { service: "rest", method: "POST /v1/events/batch", protocol: "http", code: "202" };
    expect(moved("chaukas_rpc_requests_total", restRequest)).toBe(1);
    expect(moved("chaukas_rpc_requests_total", { service: "sdk", method: "POST /events/batch", code: "200" })).toBe(1);
  });

  it("counts refused keys by reason, refusals over a bound, and unknown paths as one series", async () => {
    const before = await Scrape.of(metricsUrl());
    expect((await post("/v1/events/batch", { events: [] }, { authorization: "" })).status).toBe(401);
    expect((await post("/v1/events/batch", { events: [] }, { authorization: "Bearer ck_nope_nope" })).status).toBe(401);
    const tooMany = Array.from({ length: MAX_INFLIGHT_EVENTS + 1 }, event);
    const client = createClient(ChaukasServerService, transports[0][1]());
    await expect(client.ingestEventBatch({ eventBatch: { events: tooMany } })).rejects.toThrow(/high memory usage/);
    for (const path of ["/no/such/path/1", "/no/such/path/2"])
      expect((await fetch(`${server.baseUrl}${path}`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(
        404,
      );

    const after = await Scrape.of(metricsUrl());
    const moved = after.movedSince(before);
    expect(moved("chaukas_auth_failures_total", { reason: "missing_key" })).toBe(1);
    expect(moved("chaukas_auth_failures_total", { reason: "invalid_key" })).toBe(1);
    expect(moved("chaukas_backpressure_refusals_total", { bound: "inflight_events" })).toBe(1);
    expect(moved("chaukas_ingest_events_rejected_total", { reason: "overloaded" })).toBe(MAX_INFLIGHT_EVENTS + 1);
    expect(moved("chaukas_rpc_requests_total", { service: "http", method: "unmatched", code: "404" })).toBe(2);
    expect(
      after.labels("chaukas_rpc_requests_total").some((l) => Object.values(l).some((v) => v.includes("/no/such"))),
    ).toBe(false);
    expect(after.value("chaukas_db_pool_connections", { state: "idle" })).toBeGreaterThan(0);
    expect(after.has("chaukas_audit_checkpoint_age_seconds")).toBe(true);
  });
});

// Each test starts a server process: an initdb and a start, slow on a busy machine.
describe("the metrics setting", { timeout: 120_000 }, () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), "chaukas-metrics-setting-"));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("off: no /metrics anywhere", async () => {
    const server = await startServerProcess(["--data-dir", dataDir, "--metrics", "off"]);
    try {
      expect((await fetch(`${server.baseUrl}/metrics`, withAdminKey(dataDir))).status).toBe(404);
    } finally {
      await server.stop();
    }
  });

  it("HOST:PORT: /metrics there, not on the server's port", async () => {
    const port = await freePort();
    const server = await startServerProcess(["--data-dir", dataDir, "--metrics", `127.0.0.1:${port}`]);
    try {
      expect(server.output()).toContain(`metrics served at http://127.0.0.1:${port}/metrics`);
      expect((await fetch(`${server.baseUrl}/metrics`, withAdminKey(dataDir))).status).toBe(404);
      const scrape = await Scrape.of(`http://127.0.0.1:${port}/metrics`);
      expect(scrape.has("chaukas_build_info")).toBe(true);
    } finally {
      await server.stop();
    }
  });
});

/** The first key's header: without one, an unknown path answers 401 before it answers 404. */
function withAdminKey(dataDir: string): RequestInit {
  return { headers: { authorization: `Bearer ${readFileSync(join(dataDir, "admin-key"), "utf8").trim()}` } };
}
