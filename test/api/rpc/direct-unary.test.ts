import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { gunzipSync, gzipSync } from "node:zlib";
import { create, type DescMethod, fromBinary, fromJsonString, toBinary, toJsonString } from "@bufbuild/protobuf";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AuditService } from "../../../gen/chaukas/backend/v1/audit_pb.ts";
import { SessionService } from "../../../gen/chaukas/backend/v1/sessions_pb.ts";
import { ChaukasClientService } from "../../../gen/chaukas/spec/client/v1/client_pb.ts";
import {
  ChaukasServerService,
  IngestEventBatchRequestSchema,
  IngestEventRequestSchema,
  IngestEventResponseSchema,
} from "../../../gen/chaukas/spec/server/v1/server_pb.ts";
import { BodyBudget } from "../../../src/api/http/body-budget.ts";
import { buildServer } from "../../../src/api/server.ts";
import { eventService } from "../../../src/app.ts";
import { KeyAuthenticator } from "../../../src/core/authenticator.ts";
import { testAuditTrail } from "../../support/audit.ts";
import { openTestStore } from "../../support/databases.ts";
import { makeEvent } from "../../support/events.ts";
import { TEST_SERVER_OPTIONS } from "../../support/server.ts";
import { closeSession, connected, h1Request } from "../transport/raw-http.ts";

/** An answer as the client sees it, with what may differ between two correct answers left out. */
interface Answer {
  status: number;
  headers: Record<string, string>;
  trailers: Record<string, string>;
  body: string;
}

/** Headers that say nothing about the call: the connection's, the framing's, and when it was answered. */
const INCIDENTAL = new Set([":status", "date", "connection", "keep-alive", "transfer-encoding", "content-length"]);

function comparable(headers: Record<string, unknown>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (!INCIDENTAL.has(name)) kept[name] = String(value);
  return kept;
}

/** The answer's body, with IngestEvent's `processed_at` (the clock at answering) cleared. */
function bodyOf(bytes: Buffer, contentType: string, method: string): string {
  if (method !== "IngestEvent" || bytes.length === 0) return bytes.toString("base64");
  const grpc = contentType.startsWith("application/grpc");
  const flag = grpc ? `${bytes[0]}:` : "";
  // A compressed gRPC message (flag 1) is compared decompressed, the flag kept.
  const message = !grpc ? bytes : bytes[0] === 1 ? gunzipSync(bytes.subarray(5)) : bytes.subarray(5);
  if (contentType.includes("json")) {
    const json = JSON.parse(message.toString());
    if ("processedAt" in json) json.processedAt = "cleared";
    return flag + JSON.stringify(json);
  }
  const answer = fromBinary(IngestEventResponseSchema, message);
  answer.processedAt = 0n;
  return flag + Buffer.from(toBinary(IngestEventResponseSchema, answer)).toString("base64");
}

/** A gRPC body: each message with its 5-byte prefix (flag, big-endian length). */
function framed(...messages: { flag?: number; bytes: Uint8Array; length?: number }[]): Buffer {
  return Buffer.concat(
    messages.map(({ flag = 0, bytes, length = bytes.length }) => {
      const prefix = Buffer.alloc(5);
      prefix[0] = flag;
      prefix.writeUInt32BE(length, 1);
      return Buffer.concat([prefix, bytes]);
    }),
  );
}

function h2Call(
  session: http2.ClientHttp2Session,
  path: string,
  headers: http2.OutgoingHttpHeaders,
  body: Uint8Array,
  frameBytes = body.byteLength,
): Promise<{ status: number; headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": path, ...headers });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      responseHeaders = h;
    });
    stream.on("trailers", (t) => {
      trailers = t;
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("end", () =>
      resolve({
        status: Number(responseHeaders[":status"]),
        headers: responseHeaders,
        trailers,
        bytes: Buffer.concat(chunks),
      }),
    );
    // The body in writes of `frameBytes`: each becomes a DATA frame of its own, or more.
    let at = 0;
    for (; body.byteLength - at > frameBytes; at += frameBytes) stream.write(body.subarray(at, at + frameBytes));
    stream.end(body.subarray(at));
  });
}

const SERVICES = [`/${ChaukasServerService.typeName}`, `/${ChaukasClientService.typeName}`];
const LIMIT = 64 * 1024;
const EMPTY = new Uint8Array(0);
const event = (id: string) => makeEvent({ eventId: id });
const ingestJson = (id: string) =>
  toJsonString(IngestEventRequestSchema, create(IngestEventRequestSchema, { event: event(id) }));
const ingestBinary = (id: string) =>
  toBinary(IngestEventRequestSchema, create(IngestEventRequestSchema, { event: event(id) }));

/** Connect unary calls: what, method, content type, body. */
const CONNECT_CASES: [string, string, string, string | Uint8Array][] = [
  ["Healthz in JSON", "Healthz", "application/json", "{}"],
  ["Healthz in binary", "Healthz", "application/proto", EMPTY],
  ["GetCapabilities", "GetCapabilities", "application/json", "{}"],
  ["GetCapabilities in binary", "GetCapabilities", "application/proto", EMPTY],
  ["an event in JSON", "IngestEvent", "application/json", ingestJson("direct-json-1")],
  ["an event in binary", "IngestEvent", "application/proto", ingestBinary("direct-binary-1")],
  ["an event in JSON with charset", "IngestEvent", "application/json; charset=utf-8", ingestJson("direct-json-2")],
  ["an unknown JSON field", "IngestEvent", "application/json", '{"event":{"eventId":"x","colour":"red"}}'],
  ["an enum's short name", "IngestEvent", "application/json", '{"event":{"eventId":"x","severity":"INFO"}}'],
  ["a body that is not JSON", "IngestEvent", "application/json", "{not json"],
  ["a body that is not protobuf", "IngestEvent", "application/proto", new Uint8Array([0xff, 0xff, 0xff])],
  ["an event the rules refuse", "IngestEvent", "application/json", '{"event":{"eventId":"only-an-id"}}'],
  ["a refusal over 1 KiB (compressed)", "IngestEvent", "application/json", `{"event":{"${"k".repeat(2000)}":1}}`],
  ["a body over the limit", "Healthz", "application/json", `{"x":"${"a".repeat(LIMIT)}"}`],
];

/** gRPC calls over HTTP/2: what, method, content type, body. */
const GRPC_CASES: [string, string, string, Uint8Array][] = [
  ["Healthz", "Healthz", "application/grpc", framed({ bytes: EMPTY })],
  ["Healthz, +proto", "Healthz", "application/grpc+proto", framed({ bytes: EMPTY })],
  ["Healthz in JSON", "Healthz", "application/grpc+json", framed({ bytes: Buffer.from("{}") })],
  ["GetCapabilities", "GetCapabilities", "application/grpc", framed({ bytes: EMPTY })],
  ["an event", "IngestEvent", "application/grpc", framed({ bytes: ingestBinary("direct-grpc-1") })],
  [
    "an event the rules refuse",
    "IngestEvent",
    "application/grpc+json",
    framed({ bytes: Buffer.from('{"event":{"eventId":"e"}}') }),
  ],
  [
    "an enum's short name in JSON",
    "IngestEvent",
    "application/grpc+json",
    framed({ bytes: Buffer.from('{"event":{"severity":"INFO"}}') }),
  ],
  ["no message", "Healthz", "application/grpc", EMPTY],
  ["a cut prefix", "Healthz", "application/grpc", new Uint8Array([0, 0])],
  ["a cut message", "IngestEvent", "application/grpc", framed({ bytes: new Uint8Array(3), length: 10 })],
  [
    "stray bytes after the message",
    "Healthz",
    "application/grpc",
    Buffer.concat([framed({ bytes: EMPTY }), Buffer.from([0, 0])]),
  ],
  ["two messages", "Healthz", "application/grpc", framed({ bytes: EMPTY }, { bytes: EMPTY })],
  [
    "a message that is not protobuf",
    "IngestEvent",
    "application/grpc",
    framed({ bytes: new Uint8Array([0xff, 0xff]) }),
  ],
  [
    "a message that is not protobuf, then another",
    "IngestEvent",
    "application/grpc",
    framed({ bytes: new Uint8Array([0xff, 0xff]) }, { bytes: EMPTY }),
  ],
  ["a compressed flag without an encoding", "Healthz", "application/grpc", framed({ flag: 1, bytes: EMPTY })],
  [
    "a cut message with the compressed flag",
    "Healthz",
    "application/grpc",
    framed({ flag: 1, bytes: new Uint8Array(2), length: 10 }),
  ],
  ["a flag that is no flag", "Healthz", "application/grpc", framed({ flag: 2, bytes: EMPTY })],
  ["a message just under the limit", "IngestEvent", "application/grpc", framed({ bytes: new Uint8Array(LIMIT - 2) })],
  ["a message over the limit", "IngestEvent", "application/grpc", framed({ bytes: new Uint8Array(LIMIT + 10) })],
  [
    "a prefix declaring 1 GiB",
    "IngestEvent",
    "application/grpc",
    framed({ bytes: new Uint8Array(3), length: 2 ** 30 }),
  ],
];

/** The log's `rpc` lines, collected from a server's logger. */
class RpcLines {
  readonly lines: { msg?: string; procedure?: string; direct?: boolean }[] = [];
  readonly logger = pino(
    { level: "info" },
    new Writable({
      write: (chunk, _encoding, done) => {
        for (const line of String(chunk).split("\n")) if (line) this.lines.push(JSON.parse(line));
        done();
      },
    }),
  );

  /** Sends a call, then waits for its `rpc` line: whether it was answered directly, and its answer. */
  async around<T>(send: () => Promise<T>): Promise<{ direct: boolean; answer: T }> {
    const before = this.lines.length;
    const answer = await send();
    await expect.poll(() => this.lines.slice(before).some((line) => line.msg === "rpc")).toBe(true);
    const line = this.lines.slice(before).find((l) => l.msg === "rpc");
    return { direct: line?.direct === true, answer };
  }
}

type Send = (extra: Record<string, string>) => Promise<Answer>;

/** The same call answered directly (as sent) and by connect-node (with a deadline header): each path once, and the same answer. */
async function sameFromBothPaths(log: RpcLines, send: Send, deadline: Record<string, string>): Promise<Answer> {
  const direct = await log.around(() => send({}));
  const viaConnect = await log.around(() => send(deadline));
  expect([direct.direct, viaConnect.direct]).toEqual([true, false]);
  expect(direct.answer).toEqual(viaConnect.answer);
  return direct.answer;
}

const CONNECT_DEADLINE = { "connect-timeout-ms": "60000" };
const GRPC_DEADLINE = { "grpc-timeout": "60S" };

/** A Connect call over HTTP/1.1 (a declared length) or HTTP/2 (none), accepting compressed answers. */
function connectCall(
  baseUrl: string,
  session: http2.ClientHttp2Session | undefined,
  path: string,
  method: string,
  contentType: string,
  body: string | Uint8Array,
): Send {
  return async (extra) => {
    const headers = { "content-type": contentType, "accept-encoding": "gzip, br", ...extra };
    const reply = session
      ? await h2Call(session, path, headers, typeof body === "string" ? Buffer.from(body) : body)
      : await h1Request(`${baseUrl}${path}`, body, { headers }).then((r) => ({ ...r, trailers: {} }));
    return {
      status: reply.status,
      headers: comparable(reply.headers),
      trailers: comparable(reply.trailers),
      // Compared decompressed: the header above says whether it came compressed.
      body: bodyOf(
        reply.headers["content-encoding"] === "gzip" ? gunzipSync(reply.bytes) : reply.bytes,
        String(reply.headers["content-type"]),
        method,
      ),
    };
  };
}

function grpcCall(
  session: http2.ClientHttp2Session,
  path: string,
  method: string,
  contentType: string,
  body: Uint8Array,
  frameBytes?: number,
): Send {
  return async (extra) => {
    const headers = {
      "content-type": contentType,
      te: "trailers",
      "grpc-accept-encoding": "gzip",
      ...extra,
    };
    const reply = await h2Call(session, path, headers, body, frameBytes);
    return {
      status: reply.status,
      headers: comparable(reply.headers),
      trailers: comparable(reply.trailers),
      body: bodyOf(reply.bytes, String(reply.headers["content-type"]), method),
    };
  };
}

async function listen(options: Partial<Parameters<typeof buildServer>[1]>, withKeys: boolean) {
  const opened = await openTestStore("embedded");
  const events = eventService(opened.store, { rbac: withKeys });
  const authenticator = withKeys
    ? new KeyAuthenticator(opened.store.keys, undefined, () => {})
    : TEST_SERVER_OPTIONS.authenticator;
  const audit = testAuditTrail(opened.store);
  const app = await buildServer(events, {
    ...TEST_SERVER_OPTIONS,
    audit,
    authenticator,
    ...options,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const session = await connected(http2.connect(baseUrl));
  return {
    baseUrl,
    session,
    audit,
    close: async () => {
      await closeSession(session);
      await app.close();
      await opened.close();
    },
  };
}

/**
 * Small unary calls are answered by direct-unary.ts, not connect-node. Each call is sent as it
 * is (answered directly) and again with a deadline header (which only connect-node serves): the
 * two answers must be the same, success or refusal, and the log says which answered each.
 */
describe.each(SERVICES)("unary calls of %s answered directly", (service) => {
  const log = new RpcLines();
  let server: Awaited<ReturnType<typeof listen>>;
  beforeAll(async () => {
    server = await listen({ logger: log.logger, maxBodyBytes: LIMIT }, false);
  });
  afterAll(() => server?.close());

  it.each(CONNECT_CASES)("Connect over HTTP/1.1: %s", async (_, method, contentType, body) => {
    await sameFromBothPaths(
      log,
      connectCall(server.baseUrl, undefined, `${service}/${method}`, method, contentType, body),
      CONNECT_DEADLINE,
    );
  });

  it.each(CONNECT_CASES)("Connect over HTTP/2: %s", async (_, method, contentType, body) => {
    await sameFromBothPaths(
      log,
      connectCall(server.baseUrl, server.session, `${service}/${method}`, method, contentType, body),
      CONNECT_DEADLINE,
    );
  });

  it.each(GRPC_CASES)("gRPC: %s", async (_, method, contentType, body) => {
    await sameFromBothPaths(
      log,
      grpcCall(server.session, `${service}/${method}`, method, contentType, body),
      GRPC_DEADLINE,
    );
  });

  it("reads a message sent in many small frames", async () => {
    // Field 1 (unknown to HealthzRequest, so kept and ignored) holding 48 KiB, sent 512 bytes a write.
    const unknownField = Buffer.concat([Buffer.from([0x0a, 0x80, 0x80, 0x03]), Buffer.alloc(48 * 1024, 0x61)]);
    const answer = await sameFromBothPaths(
      log,
      grpcCall(
        server.session,
        `${service}/Healthz`,
        "Healthz",
        "application/grpc",
        framed({ bytes: unknownField }),
        512,
      ),
      GRPC_DEADLINE,
    );
    expect(answer.trailers["grpc-status"]).toBe("0");
  });

  it("compresses a gRPC answer over 1 KiB only when its request was compressed", async () => {
    // Each control character of the echoed event id is six bytes in JSON: an answer of about 1.5 KiB.
    const message = Buffer.from(ingestJson("\u0001".repeat(250)));
    const path = `${service}/IngestEvent`;
    const plain = grpcCall(server.session, path, "IngestEvent", "application/grpc+json", framed({ bytes: message }));
    const answer = await sameFromBothPaths(log, plain, GRPC_DEADLINE);
    expect(answer.headers["grpc-encoding"]).toBeUndefined();
    expect(answer.body.slice(0, 2)).toBe("0:");

    // A compressed request is connect-node's, with or without a deadline.
    const gzipped = grpcCall(
      server.session,
      path,
      "IngestEvent",
      "application/grpc+json",
      framed({ flag: 1, bytes: gzipSync(message) }),
    );
    for (const extra of [{ "grpc-encoding": "gzip" }, { "grpc-encoding": "gzip", ...GRPC_DEADLINE }]) {
      const { direct, answer: compressed } = await log.around(() => gzipped(extra));
      expect(direct).toBe(false);
      expect(compressed.headers["grpc-encoding"]).toBe("gzip");
      // The server service's answer echoes the event id (compressed, flag 1); the client service's does not.
      expect(compressed.body).toBe(service === SERVICES[0] ? `1:${answer.body.slice(2)}` : answer.body);
    }
  });

  it("compresses a Connect refusal over 1 KiB as connect-node does", async () => {
    const [, method, contentType, body] = CONNECT_CASES.find(([what]) => what.startsWith("a refusal over 1 KiB")) ?? [];
    const answer = await sameFromBothPaths(
      log,
      connectCall(server.baseUrl, undefined, `${service}/${method}`, String(method), String(contentType), String(body)),
      CONNECT_DEADLINE,
    );
    expect(answer.headers["content-encoding"]).toBe("gzip");
  });

  it("leaves gRPC-Web, compressed calls, GET, HTTP/1.1 gRPC and batches to connect-node", async () => {
    const h2: [string, http2.OutgoingHttpHeaders, Uint8Array][] = [
      ["Healthz", { "content-type": "application/grpc-web+proto" }, framed({ bytes: EMPTY })],
      ["Healthz", { "content-type": "application/grpc", "grpc-encoding": "gzip" }, framed({ bytes: EMPTY })],
      ["Healthz", { "content-type": "application/json", "content-encoding": "gzip" }, EMPTY],
      ["Healthz", { "content-type": "application/json", "connect-protocol-version": "2" }, Buffer.from("{}")],
      ["Healthz", { "content-type": "application/connect+json" }, EMPTY],
      ["IngestEventBatch", { "content-type": "application/json" }, Buffer.from("{}")],
    ];
    for (const [method, headers, body] of h2) {
      const { direct } = await log.around(() => h2Call(server.session, `${service}/${method}`, headers, body));
      expect(direct, `${method} ${JSON.stringify(headers)}`).toBe(false);
    }
    const h1 = await log.around(() =>
      h1Request(`${server.baseUrl}${service}/Healthz`, framed({ bytes: EMPTY }), {
        headers: { "content-type": "application/grpc" },
      }),
    );
    expect(h1.direct).toBe(false);
    const get = await log.around(() =>
      h1Request(`${server.baseUrl}${service}/Healthz?encoding=json&message={}`, undefined, {
        method: "GET",
        headers: {},
      }),
    );
    expect(get.direct).toBe(false);
  });
});

/** The request gate's refusals, answered on the direct path as connect-node answers them. */
describe("refusals of the request gate, answered directly", () => {
  const log = new RpcLines();
  let server: Awaited<ReturnType<typeof listen>>;
  const ingest = `${SERVICES[0]}/IngestEvent`;
  const healthz = `${SERVICES[0]}/Healthz`;
  beforeAll(async () => {
    // A budget of 16 KiB for request bodies held at once: one larger body is refused.
    server = await listen({ logger: log.logger, maxBodyBytes: LIMIT, bodyBudget: new BodyBudget(16 * 1024) }, true);
  });
  afterAll(() => server?.close());

  it("without a key: unauthenticated, in Connect and gRPC", async () => {
    const connect = await sameFromBothPaths(
      log,
      connectCall(server.baseUrl, undefined, ingest, "IngestEvent", "application/json", ingestJson("no-key")),
      CONNECT_DEADLINE,
    );
    expect(connect.status).toBe(401);
    const grpc = await sameFromBothPaths(
      log,
      grpcCall(server.session, ingest, "IngestEvent", "application/grpc", framed({ bytes: ingestBinary("no-key") })),
      GRPC_DEADLINE,
    );
    expect(grpc.trailers["grpc-status"]).toBe("16");
  });

  it("over the body budget: resource_exhausted with a retry hint, declared up front or found mid-body", async () => {
    const big = `{"x":"${"a".repeat(32 * 1024)}"}`;
    const connect = await sameFromBothPaths(
      log,
      connectCall(server.baseUrl, undefined, healthz, "Healthz", "application/json", big),
      CONNECT_DEADLINE,
    );
    expect(connect.status).toBe(429);
    expect(connect.headers["retry-after"]).toBeDefined();
    const grpc = await sameFromBothPaths(
      log,
      grpcCall(server.session, healthz, "Healthz", "application/grpc+json", framed({ bytes: Buffer.from(big) })),
      GRPC_DEADLINE,
    );
    expect(grpc.trailers["grpc-status"]).toBe("8");
    expect(grpc.trailers["grpc-status-details-bin"]).toBeDefined();
  });
});

const READ_TENANT = "direct-reads";

/** The day of the events makeEvent makes, for the usage asked. */
const EVENTS_DAY = '{"start":"2025-11-25T00:00:00Z","end":"2025-11-26T00:00:00Z"}';

/** Reads: what, method, request in JSON, the gRPC status expected (0: answered). */
const READ_CASES: [string, DescMethod, string, number][] = [
  [
    "a page of events",
    ChaukasServerService.method.queryEvents,
    `{"query":{"filter":{"tenantId":"${READ_TENANT}"},"pageSize":8}}`,
    0,
  ],
  [
    "a page of events, client service",
    ChaukasClientService.method.queryEvents,
    `{"query":{"filter":{"tenantId":"${READ_TENANT}"},"pageSize":8}}`,
    0,
  ],
  [
    "a refused page size",
    ChaukasServerService.method.queryEvents,
    `{"query":{"filter":{"tenantId":"${READ_TENANT}"},"pageSize":-1}}`,
    3,
  ],
  ["event stats", ChaukasServerService.method.getEventStats, `{"tenantId":"${READ_TENANT}"}`, 0],
  ["sessions", SessionService.method.listSessions, `{"filter":{"tenantId":"${READ_TENANT}"}}`, 0],
  ["usage", SessionService.method.getUsage, `{"tenantId":"${READ_TENANT}","timeRange":${EVENTS_DAY}}`, 0],
  ["the latest checkpoint", AuditService.method.getCheckpoint, `{"tenantId":"${READ_TENANT}"}`, 0],
  [
    "a checkpoint that does not exist",
    AuditService.method.getCheckpoint,
    `{"tenantId":"${READ_TENANT}","size":"999"}`,
    5,
  ],
  [
    "a consistency proof",
    AuditService.method.getConsistencyProof,
    `{"tenantId":"${READ_TENANT}","fromSize":"3","toSize":"12"}`,
    0,
  ],
  ["the public key", AuditService.method.getPublicKey, "{}", 0],
];

/** The HTTP status of a Connect answer with this gRPC status. */
const CONNECT_STATUS: Record<number, number> = { 0: 200, 3: 400, 5: 404 };

/**
 * Reads of the spec, session and audit services are answered directly too: the same answers as
 * connect-node gives, over events stored and appended to their log in two checkpoints.
 */
describe("reads answered directly", () => {
  const log = new RpcLines();
  let server: Awaited<ReturnType<typeof listen>>;
  const eventIds: string[] = [];
  const store = async (count: number) => {
    const events = Array.from({ length: count }, () =>
      makeEvent({ tenantId: READ_TENANT, sessionId: "direct-session" }),
    );
    eventIds.push(...events.map((e) => e.eventId));
    const batch = create(IngestEventBatchRequestSchema, { eventBatch: { events } });
    const before = log.lines.length;
    const answer = await h1Request(
      `${server.baseUrl}${SERVICES[0]}/IngestEventBatch`,
      toJsonString(IngestEventBatchRequestSchema, batch),
    );
    // Its log line written before the tests count theirs.
    await vi.waitFor(() => expect(log.lines.slice(before).some((line) => line.msg === "rpc")).toBe(true));
    expect(answer.status).toBe(200);
    expect(await server.audit.integrateAndSign()).toHaveLength(1);
  };
  beforeAll(async () => {
    server = await listen({ logger: log.logger }, false);
    // Checkpoints of sizes 3 and 12, for a consistency proof between them.
    await store(3);
    await store(9);
  });
  afterAll(() => server?.close());

  const path = (method: DescMethod) => `/${method.parent.typeName}/${method.name}`;
  const binary = (method: DescMethod, json: string) => toBinary(method.input, fromJsonString(method.input, json));

  it.each(READ_CASES)("Connect JSON over HTTP/1.1: %s", async (_, method, json, code) => {
    const answer = await sameFromBothPaths(
      log,
      connectCall(server.baseUrl, undefined, path(method), method.name, "application/json", json),
      CONNECT_DEADLINE,
    );
    expect(answer.status).toBe(CONNECT_STATUS[code]);
  });

  it.each(READ_CASES)("Connect binary over HTTP/2: %s", async (_, method, json, code) => {
    const answer = await sameFromBothPaths(
      log,
      connectCall(server.baseUrl, server.session, path(method), method.name, "application/proto", binary(method, json)),
      CONNECT_DEADLINE,
    );
    expect(answer.status).toBe(CONNECT_STATUS[code]);
  });

  it.each(READ_CASES)("gRPC: %s", async (_, method, json, code) => {
    const body = framed({ bytes: binary(method, json) });
    const answer = await sameFromBothPaths(
      log,
      grpcCall(server.session, path(method), method.name, "application/grpc", body),
      GRPC_DEADLINE,
    );
    expect(answer.trailers["grpc-status"]).toBe(String(code));
  });

  it.each(READ_CASES)("gRPC in JSON (a page decoded): %s", async (_, method, json, code) => {
    const body = framed({ bytes: Buffer.from(json) });
    const answer = await sameFromBothPaths(
      log,
      grpcCall(server.session, path(method), method.name, "application/grpc+json", body),
      GRPC_DEADLINE,
    );
    expect(answer.trailers["grpc-status"]).toBe(String(code));
  });

  it("a page's stored events and their log entries, compressed when the request was, and an inclusion proof", async () => {
    const method = ChaukasServerService.method.queryEvents;
    const request = binary(method, `{"query":{"filter":{"tenantId":"${READ_TENANT}"},"pageSize":100}}`);
    const send = grpcCall(server.session, path(method), method.name, "application/grpc", framed({ bytes: request }));
    // Uncompressed, though the client accepts gzip: the message as written, its prefix filled in.
    const answer = await sameFromBothPaths(log, send, GRPC_DEADLINE);
    expect(answer.headers["grpc-encoding"]).toBeUndefined();
    // The same with the request's encoding named: identity.
    const identity = await sameFromBothPaths(
      log,
      (extra) => send({ "grpc-encoding": "identity", ...extra }),
      GRPC_DEADLINE,
    );
    expect(identity).toEqual(answer);
    const bytes = Buffer.from(answer.body, "base64");
    expect([bytes[0], bytes.readUInt32BE(1)]).toEqual([0, bytes.length - 5]);
    const page = fromBinary(method.output, bytes.subarray(5));
    expect(page.response?.events).toHaveLength(eventIds.length);
    expect(page.response?.events.map((e) => e.eventId).sort()).toEqual([...eventIds].sort());
    expect(page.response?.events.every((e) => e.wormProofId !== "")).toBe(true);

    // The same request compressed: the same page, compressed (connect-node's path).
    const gzipped = grpcCall(
      server.session,
      path(method),
      method.name,
      "application/grpc",
      framed({ flag: 1, bytes: gzipSync(request) }),
    );
    const { direct, answer: compressed } = await log.around(() => gzipped({ "grpc-encoding": "gzip" }));
    expect(direct).toBe(false);
    expect(compressed.headers["grpc-encoding"]).toBe("gzip");
    const compressedBytes = Buffer.from(compressed.body, "base64");
    expect(compressedBytes[0]).toBe(1);
    expect(gunzipSync(compressedBytes.subarray(5))).toEqual(bytes.subarray(5));

    // gRPC-Web (browsers) is answered compressed when it accepts it, its request uncompressed.
    const web = await log.around(() =>
      h2Call(
        server.session,
        path(method),
        { "content-type": "application/grpc-web+proto", "grpc-accept-encoding": "gzip" },
        framed({ bytes: request }),
      ),
    );
    expect(web.direct).toBe(false);
    expect(web.answer.headers["grpc-encoding"]).toBe("gzip");
    expect(web.answer.bytes[0]).toBe(1);
    const webMessage = web.answer.bytes.subarray(5, 5 + web.answer.bytes.readUInt32BE(1));
    expect(gunzipSync(webMessage)).toEqual(bytes.subarray(5));

    const proof = AuditService.method.getInclusionProof;
    const proofJson = `{"tenantId":"${READ_TENANT}","eventId":"${eventIds[5]}"}`;
    const proven = await sameFromBothPaths(
      log,
      connectCall(server.baseUrl, undefined, path(proof), proof.name, "application/json", proofJson),
      CONNECT_DEADLINE,
    );
    expect(proven.status).toBe(200);
  });
});
