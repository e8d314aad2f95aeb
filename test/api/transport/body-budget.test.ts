import http from "node:http";
import http2 from "node:http2";
import { create, toBinary, toJson } from "@bufbuild/protobuf";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type IngestEventBatchRequest,
  IngestEventBatchRequestSchema,
} from "../../../gen/chaukas/spec/client/v1/client_pb.ts";
import { BodyBudget, GROWTH_STEP_BYTES } from "../../../src/api/http/body-budget.ts";
import { jsonRegistry } from "../../../src/codec/formats/registry.ts";
import { eventToRestJson } from "../../../src/codec/formats/rest-json.ts";
import { ConfigError, loadConfig } from "../../../src/config.ts";
import { makeEvent } from "../../support/events.ts";
import { type HeldAnswer, HeldH1Request, HeldH2Request, until } from "../../support/held-request.ts";
import { startTestServer, type TestServer } from "../../support/server.ts";

/**
 * The bound on request-body bytes held in memory across requests. Request A reserves its body and
 * holds it back (it has been taken in once the server says 100 Continue); request B, which does not
 * fit beside it, is refused unread with the answer clients retry, and served once A is done.
 */

const KIB = 1024;
const LIMIT = 64 * KIB; // --max-body-bytes: what a body of undeclared length reserves
const BUDGET = 100 * KIB;
const A_BYTES = 60 * KIB;
const B_BYTES = 50 * KIB;

const BATCH = "/chaukas.spec.server.v1.ChaukasServerService/IngestEventBatch";

let server: TestServer;
let session: http2.ClientHttp2Session;
const budget = new BodyBudget(BUDGET);

beforeAll(async () => {
  server = await startTestServer("embedded", { maxBodyBytes: LIMIT, bodyBudget: budget });
  session = http2.connect(server.baseUrl);
});
afterAll(async () => {
  session.close();
  await server.close();
});
// Whatever a test did, every byte it reserved must be given back.
afterEach(() => until(() => budget.reservedBytes === 0, "given back every reserved byte"));

async function answered(request: HeldH1Request | HeldH2Request): Promise<HeldAnswer> {
  const answer = await request.answer;
  if (answer === "silence") throw new Error("no answer");
  return answer;
}

/** A held HTTP/1.1 request with a declared body of `body.length` bytes, taken in by the server. */
async function holdH1(path: string, contentType: string, body: Buffer): Promise<HeldH1Request> {
  const headers = { "content-type": contentType, "content-length": String(body.length) };
  const held = new HeldH1Request(`${server.baseUrl}${path}`, headers, body.subarray(0, 16));
  await held.continued;
  return held;
}

/** Sends `body` whole and returns the answer. */
function post(path: string, contentType: string, body: Buffer): Promise<HeldAnswer> {
  const headers = { "content-type": contentType, "content-length": String(body.length) };
  const request = new HeldH1Request(`${server.baseUrl}${path}`, headers, body);
  request.finish(new Uint8Array());
  return answered(request);
}

/** Sends `body` whole on an HTTP/2 stream and returns the answer. */
function h2Post(headers: http2.OutgoingHttpHeaders, body: Buffer): Promise<HeldAnswer> {
  const request = new HeldH2Request(session, headers, body);
  request.finish(new Uint8Array());
  return answered(request);
}

describe("Connect JSON", () => {
  it("refuses B with resource_exhausted (HTTP 429, Retry-After) while A holds its body, serves it after", async () => {
    const a = jsonBatch(A_BYTES);
    const held = await holdH1(BATCH, "application/json", a);
    expect(budget.reservedBytes).toBe(A_BYTES);

    const refused = await post(BATCH, "application/json", jsonBatch(B_BYTES));
    expect(refused.status).toBe(429);
    expect(refused.headers["retry-after"]).toBe("1");
    expect(JSON.parse(refused.body)).toMatchObject({ code: "resource_exhausted" });
    expect(JSON.parse(refused.body).message).toMatch(/high memory usage/);
    expect(budget.reservedBytes).toBe(A_BYTES);

    held.finish(a.subarray(16));
    expect((await answered(held)).status).toBe(200);
    await until(() => budget.reservedBytes === 0, "given back A's bytes");
    expect((await post(BATCH, "application/json", jsonBatch(B_BYTES))).status).toBe(200);
  });
});

describe("gRPC over HTTP/2, whose bodies have no declared length", () => {
  const headers = { ":path": BATCH, "content-type": "application/grpc+proto", te: "trailers" };

  it("reserves the body limit; refuses B with RESOURCE_EXHAUSTED and retry-after while A is held, serves it after", async () => {
    const a = grpcBatch();
    const held = new HeldH2Request(session, headers, a.subarray(0, 3));
    await held.continued;
    expect(budget.reservedBytes).toBe(LIMIT);

    const refused = await h2Post(headers, grpcBatch());
    expect({ ...refused.headers, ...refused.trailers }).toMatchObject({ "grpc-status": "8", "retry-after": "1" });

    held.finish(a.subarray(3));
    expect({ ...(await answered(held)).trailers }).toMatchObject({ "grpc-status": "0" });
    await until(() => budget.reservedBytes === 0, "given back A's bytes");
    const served = await h2Post(headers, grpcBatch());
    expect(served.trailers).toMatchObject({ "grpc-status": "0" });
  });

  it("gets back the bytes of a stream the client resets", async () => {
    const held = new HeldH2Request(session, headers, grpcBatch().subarray(0, 3));
    await held.continued;
    expect(budget.reservedBytes).toBe(LIMIT);
    held.abort();
    await until(() => budget.reservedBytes === 0, "given back the reset stream's bytes");
  });
});

describe("gRPC bodies larger than what they reserve up front", () => {
  // A body limit far above the budget: were each call to reserve the limit, none would fit.
  const BIG_LIMIT = 1024 * KIB;
  const SMALL_BUDGET = 4 * GROWTH_STEP_BYTES;
  const headers = { ":path": BATCH, "content-type": "application/grpc+proto", te: "trailers" };
  const growing = new BodyBudget(SMALL_BUDGET);
  let own: TestServer;
  let ownSession: http2.ClientHttp2Session;

  beforeAll(async () => {
    own = await startTestServer("embedded", { maxBodyBytes: BIG_LIMIT, bodyBudget: growing });
    ownSession = http2.connect(own.baseUrl);
  });
  afterAll(async () => {
    ownSession.close();
    await own.close();
  });
  afterEach(() => until(() => growing.reservedBytes === 0, "given back every reserved byte"));

  function send(body: Buffer): Promise<HeldAnswer> {
    const request = new HeldH2Request(ownSession, headers, body);
    request.finish(new Uint8Array());
    return answered(request);
  }

  it("reserve a step up front, so as many calls are held at once as steps fit in the budget", async () => {
    const held: HeldH2Request[] = [];
    for (let i = 0; i < 4; i++) {
      held.push(new HeldH2Request(ownSession, headers, grpcBatch().subarray(0, 3)));
      await held[i].continued;
    }
    expect(growing.reservedBytes).toBe(SMALL_BUDGET);
    const fifth = await send(grpcBatch());
    expect({ ...fifth.headers, ...fifth.trailers }).toMatchObject({ "grpc-status": "8", "retry-after": "1" });
    for (const request of held) request.finish(grpcBatch().subarray(3));
    for (const request of held) expect((await answered(request)).trailers).toMatchObject({ "grpc-status": "0" });
  });

  it("grow as the body arrives: one that outgrows the budget is refused mid-body, retryable; one that fits is served", async () => {
    const outgrows = await send(grpcBatchOf(SMALL_BUDGET + 64 * KIB));
    expect({ ...outgrows.headers, ...outgrows.trailers }).toMatchObject({ "grpc-status": "8", "retry-after": "1" });
    await until(() => growing.reservedBytes === 0, "given back the refused call's bytes");
    const fits = await send(grpcBatchOf(2 * GROWTH_STEP_BYTES));
    expect(fits.trailers).toMatchObject({ "grpc-status": "0" });
  });
});

describe("the plain routes", () => {
  it("refuse B on the SDK's route with 503 'high memory usage' and Retry-After while A is held, serve it after", async () => {
    const a = jsonBatch(A_BYTES);
    const held = await holdH1("/events/batch", "application/json", a);

    const refused = await post("/events/batch", "application/json", jsonBatch(B_BYTES));
    expect(refused.status).toBe(503);
    expect(refused.headers["retry-after"]).toBe("1");
    expect(refused.body).toMatch(/high memory usage/i);
    // The public REST API answers the same way.
    const rest = await post("/v1/events/batch", "application/json", restBatch(B_BYTES));
    expect(rest.status).toBe(503);
    expect(rest.body).toMatch(/high memory usage/i);

    held.finish(a.subarray(16));
    expect((await answered(held)).status).toBe(200);
    await until(() => budget.reservedBytes === 0, "given back A's bytes");
    expect((await post("/events/batch", "application/json", jsonBatch(B_BYTES))).status).toBe(200);
    expect((await post("/v1/events/batch", "application/json", restBatch(B_BYTES))).status).toBe(202);
  });
});

describe("bytes are given back however a request ends", () => {
  it("when it is answered on a keep-alive connection that stays open", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const body = jsonBatch(A_BYTES);
    const status = await new Promise<number>((resolve, reject) => {
      const headers = { "content-type": "application/json", "content-length": body.length };
      const req = http.request(`${server.baseUrl}${BATCH}`, { method: "POST", agent, headers }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("error", reject);
      req.end(body);
    });
    expect(status).toBe(200);
    await until(() => budget.reservedBytes === 0, "given back the answered request's bytes");
    agent.destroy();
  });

  it("when the client goes away in the middle of the body", async () => {
    const held = await holdH1(BATCH, "application/json", jsonBatch(A_BYTES));
    expect(budget.reservedBytes).toBe(A_BYTES);
    held.abort();
    await until(() => budget.reservedBytes === 0, "given back the aborted request's bytes");
  });

  it.each([
    ["an undecodable Connect body", BATCH, Buffer.from("{not json".padEnd(A_BYTES))],
    ["an undecodable SDK body", "/events/batch", Buffer.from("{not json".padEnd(A_BYTES))],
    ["a body over the limit", BATCH, Buffer.alloc(LIMIT + 1, 0x20)],
    ["a body over the limit on the SDK's route", "/events/batch", Buffer.alloc(LIMIT + 1, 0x20)],
  ])("when it is refused for %s", async (_what, path, body) => {
    const answer = await post(path, "application/json", body);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    await until(() => budget.reservedBytes === 0, "given back the refused request's bytes");
  });
});

/** A Connect/SDK JSON IngestEventBatchRequest of one event, padded with spaces to `bytes`. */
function jsonBatch(bytes: number): Buffer {
  const batch = create(IngestEventBatchRequestSchema, { eventBatch: { events: [makeEvent()] } });
  return Buffer.from(
    JSON.stringify(toJson(IngestEventBatchRequestSchema, batch, { registry: jsonRegistry })).padEnd(bytes),
  );
}

/** A public REST API batch of one event, padded with spaces to `bytes`. */
function restBatch(bytes: number): Buffer {
  return Buffer.from(JSON.stringify({ events: [eventToRestJson(makeEvent())] }).padEnd(bytes));
}

/** A gRPC message: an IngestEventBatchRequest of one event behind its 5-byte prefix. */
function grpcBatch(): Buffer {
  return grpcMessage(create(IngestEventBatchRequestSchema, { eventBatch: { events: [makeEvent()] } }));
}

/** A gRPC message of a batch of events about `bytes` long in all. */
function grpcBatchOf(bytes: number): Buffer {
  const events = [];
  for (let size = 0; size < bytes; size += 512) {
    events.push(makeEvent({ metadata: { padding: "x".repeat(400) } }));
  }
  return grpcMessage(create(IngestEventBatchRequestSchema, { eventBatch: { events } }));
}

function grpcMessage(batch: IngestEventBatchRequest): Buffer {
  const message = toBinary(IngestEventBatchRequestSchema, batch);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

describe("the setting", () => {
  it("refuses at start a budget that cannot hold one body of the body limit", () => {
    expect(() => loadConfig(["--max-inflight-body-mb", "1", "--max-body-bytes", String(2 * 1024 * 1024)], {})).toThrow(
      ConfigError,
    );
    const otlpMiB = ["--otlp-max-body-bytes", String(1024 * 1024)];
    expect(
      loadConfig(["--max-inflight-body-mb", "2", "--max-body-bytes", String(2 * 1024 * 1024), ...otlpMiB], {}),
    ).toMatchObject({ maxInflightBodyMb: 2 });
    // The OTLP routes have their own limit, which the budget must hold too (20 MiB by default).
    expect(() => loadConfig(["--max-inflight-body-mb", "16"], {})).toThrow(ConfigError);
  });
});
