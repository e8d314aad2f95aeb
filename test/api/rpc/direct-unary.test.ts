import http2 from "node:http2";
import { Writable } from "node:stream";
import { create, fromBinary, toBinary, toJsonString } from "@bufbuild/protobuf";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ChaukasServerService,
  IngestEventRequestSchema,
  IngestEventResponseSchema,
} from "../../../gen/chaukas/spec/server/v1/server_pb.ts";
import { makeEvent } from "../../support/events.ts";
import { startTestServer, type TestServer } from "../../support/server.ts";
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
  const message = grpc ? bytes.subarray(5) : bytes;
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
    stream.end(body);
  });
}

const SERVICE = `/${ChaukasServerService.typeName}`;
const event = (id: string) => makeEvent({ eventId: id });
const ingestJson = (id: string) =>
  toJsonString(IngestEventRequestSchema, create(IngestEventRequestSchema, { event: event(id) }));
const ingestBinary = (id: string) =>
  toBinary(IngestEventRequestSchema, create(IngestEventRequestSchema, { event: event(id) }));

/** Connect unary calls: method, content type, body. */
const CONNECT_CASES: [string, string, string, string | Uint8Array][] = [
  ["Healthz in JSON", "Healthz", "application/json", "{}"],
  ["Healthz in binary", "Healthz", "application/proto", new Uint8Array(0)],
  ["GetCapabilities", "GetCapabilities", "application/json", "{}"],
  ["an event in JSON", "IngestEvent", "application/json", ingestJson("direct-json-1")],
  ["an event in binary", "IngestEvent", "application/proto", ingestBinary("direct-binary-1")],
  ["an event in JSON with charset", "IngestEvent", "application/json; charset=utf-8", ingestJson("direct-json-2")],
  ["an unknown JSON field", "IngestEvent", "application/json", '{"event":{"eventId":"x","colour":"red"}}'],
  ["an enum's short name", "IngestEvent", "application/json", '{"event":{"eventId":"x","severity":"INFO"}}'],
  ["a body that is not JSON", "IngestEvent", "application/json", "{not json"],
  ["a body that is not protobuf", "IngestEvent", "application/proto", new Uint8Array([0xff, 0xff, 0xff])],
  ["an event the rules refuse", "IngestEvent", "application/json", '{"event":{"eventId":"only-an-id"}}'],
  ["a body over the limit", "Healthz", "application/json", `{"x":"${"a".repeat(70_000)}"}`],
];

/** gRPC calls over HTTP/2: method, content type, body. */
const GRPC_CASES: [string, string, string, Uint8Array][] = [
  ["Healthz", "Healthz", "application/grpc", framed({ bytes: new Uint8Array(0) })],
  ["Healthz, +proto", "Healthz", "application/grpc+proto", framed({ bytes: new Uint8Array(0) })],
  ["Healthz in JSON", "Healthz", "application/grpc+json", framed({ bytes: Buffer.from("{}") })],
  ["an event", "IngestEvent", "application/grpc", framed({ bytes: ingestBinary("direct-grpc-1") })],
  [
    "an event the rules refuse",
    "IngestEvent",
    "application/grpc+json",
    framed({ bytes: Buffer.from('{"event":{"eventId":"e"}}') }),
  ],
  ["no message", "Healthz", "application/grpc", new Uint8Array(0)],
  ["a cut prefix", "Healthz", "application/grpc", new Uint8Array([0, 0])],
  ["a cut message", "IngestEvent", "application/grpc", framed({ bytes: new Uint8Array(3), length: 10 })],
  ["two messages", "Healthz", "application/grpc", framed({ bytes: new Uint8Array(0) }, { bytes: new Uint8Array(0) })],
  [
    "a compressed flag without an encoding",
    "Healthz",
    "application/grpc",
    framed({ flag: 1, bytes: new Uint8Array(0) }),
  ],
  ["a flag that is no flag", "Healthz", "application/grpc", framed({ flag: 2, bytes: new Uint8Array(0) })],
  [
    "a message that is not protobuf",
    "IngestEvent",
    "application/grpc",
    framed({ bytes: new Uint8Array([0xff, 0xff]) }),
  ],
];

/**
 * Small unary calls are answered by direct-unary.ts, not connect-node. Each call is sent as it
 * is (answered directly) and again with a deadline header (which only connect-node serves): the
 * two answers must be the same, success or refusal, and the log says which answered each.
 */
describe("unary calls answered directly", () => {
  let server: TestServer;
  const lines: { procedure?: string; direct?: boolean }[] = [];
  let session: http2.ClientHttp2Session;

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
        done();
      },
    });
    server = await startTestServer("postgres", { logger: pino({ level: "info" }, sink), maxBodyBytes: 64 * 1024 });
    session = await connected(http2.connect(server.baseUrl));
  });
  afterAll(async () => {
    if (session) await closeSession(session);
    await server?.close();
  });

  it.each(CONNECT_CASES)("Connect: %s", async (_, method, contentType, body) => {
    const send = async (extra: Record<string, string>): Promise<Answer> => {
      const before = lines.length;
      const reply = await h1Request(`${server.baseUrl}${SERVICE}/${method}`, body, {
        // Accepting compression: these answers are below the size connect-node would compress.
        headers: { "content-type": contentType, "accept-encoding": "gzip, br", ...extra },
      });
      await expect.poll(() => lines.length).toBeGreaterThan(before);
      return {
        status: reply.status,
        headers: comparable(reply.headers),
        trailers: {},
        body: bodyOf(reply.bytes, String(reply.headers["content-type"]), method),
      };
    };
    const direct = await send({});
    expect(lines.at(-1)).toMatchObject({ procedure: `${SERVICE}/${method}`, direct: true });
    const viaConnect = await send({ "connect-timeout-ms": "60000" });
    expect(lines.at(-1)?.direct).toBeUndefined();
    expect(direct).toEqual(viaConnect);
  });

  it.each(GRPC_CASES)("gRPC: %s", async (_, method, contentType, body) => {
    const send = async (extra: Record<string, string>): Promise<Answer> => {
      const before = lines.length;
      const reply = await h2Call(
        session,
        `${SERVICE}/${method}`,
        { "content-type": contentType, te: "trailers", "grpc-accept-encoding": "gzip", ...extra },
        body,
      );
      await expect.poll(() => lines.length).toBeGreaterThan(before);
      // connect-node names gzip as the answer's encoding when the client accepts it, and then
      // sends the small message uncompressed (flag 0); the direct answer names none. The same to a client.
      const headers = comparable(reply.headers);
      expect(reply.bytes.length === 0 || reply.bytes[0] === 0).toBe(true);
      delete headers["grpc-encoding"];
      return {
        status: reply.status,
        headers,
        trailers: comparable(reply.trailers),
        body: bodyOf(reply.bytes, String(reply.headers["content-type"]), method),
      };
    };
    const direct = await send({});
    expect(lines.at(-1)).toMatchObject({ procedure: `${SERVICE}/${method}`, direct: true });
    const viaConnect = await send({ "grpc-timeout": "60S" });
    expect(lines.at(-1)?.direct).toBeUndefined();
    expect(direct).toEqual(viaConnect);
  });

  it("leaves gRPC-Web, compressed calls and calls with large answers to connect-node", async () => {
    const cases: [string, http2.OutgoingHttpHeaders, Uint8Array][] = [
      ["Healthz", { "content-type": "application/grpc-web+proto" }, framed({ bytes: new Uint8Array(0) })],
      [
        "Healthz",
        { "content-type": "application/grpc", "grpc-encoding": "gzip" },
        framed({ bytes: new Uint8Array(0) }),
      ],
      ["Healthz", { "content-type": "application/json", "content-encoding": "gzip" }, new Uint8Array(0)],
      ["QueryEvents", { "content-type": "application/json" }, Buffer.from("{}")],
    ];
    for (const [method, headers, body] of cases) {
      const before = lines.length;
      await h2Call(session, `${SERVICE}/${method}`, headers, body);
      await expect.poll(() => lines.length).toBeGreaterThan(before);
      expect(lines.at(-1)).toMatchObject({ procedure: `${SERVICE}/${method}` });
      expect(lines.at(-1)?.direct).toBeUndefined();
    }
  });
});
