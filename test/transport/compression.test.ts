import http from "node:http";
import zlib from "node:zlib";
import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Event, EventSchema } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { SortOrder } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import {
  IngestEventBatchRequestSchema,
  QueryEventsRequestSchema,
  QueryEventsResponseSchema,
} from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { EVERY_CONTENT, fullEvent, withoutIntegrity } from "../support/events.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

const SERVICE = "/chaukas.spec.server.v1.ChaukasServerService";

/** A Connect unary call in binary over HTTP/1.1; the answer's body as sent, still compressed. */
function post(port: number, method: string, body: Uint8Array, acceptEncoding?: string) {
  return new Promise<{ status: number; encoding: string | undefined; body: Buffer }>((resolve, reject) => {
    const headers: Record<string, string> = { "content-type": "application/proto" };
    if (acceptEncoding) headers["accept-encoding"] = acceptEncoding;
    const request = http.request({ host: "127.0.0.1", port, method: "POST", path: `${SERVICE}/${method}`, headers });
    request.on("error", reject);
    request.on("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          encoding: response.headers["content-encoding"],
          body: Buffer.concat(chunks),
        }),
      );
    });
    request.end(body);
  });
}

const DECOMPRESS: Record<string, (body: Buffer) => Buffer> = {
  gzip: (body) => zlib.gunzipSync(body),
  br: (body) => zlib.brotliDecompressSync(body),
};

describe("compressed answers", () => {
  let server: TestServer;
  const sessionId = "compressed-answers";
  const events = Array.from({ length: 40 }, (_, i) => {
    const event = fullEvent(EVERY_CONTENT[i % EVERY_CONTENT.length]);
    event.sessionId = sessionId;
    return event;
  });
  const query = toBinary(
    QueryEventsRequestSchema,
    create(QueryEventsRequestSchema, {
      query: { filter: { tenantId: "acme", sessionId }, orderByTime: SortOrder.ASC },
    }),
  );

  beforeAll(async () => {
    server = await startTestServer();
    const batch = create(IngestEventBatchRequestSchema, { eventBatch: { batchId: sessionId, events } });
    const ingested = await post(server.port, "IngestEventBatch", toBinary(IngestEventBatchRequestSchema, batch));
    expect(ingested.status).toBe(200);
    await server.audit.integrateAndSign();
  });
  afterAll(() => server.close());

  it.each(Object.keys(DECOMPRESS))("answers in %s when the client asks for it, smaller and the same", async (name) => {
    const plain = await post(server.port, "QueryEvents", query);
    expect(plain.encoding).toBeUndefined();
    const compressed = await post(server.port, "QueryEvents", query, name);
    expect(compressed.status).toBe(200);
    expect(compressed.encoding).toBe(name);
    expect(compressed.body.byteLength).toBeLessThan(plain.body.byteLength / 2);
    const body = DECOMPRESS[name](compressed.body);
    expect(body).toEqual(plain.body);
    const answered = new Map(
      fromBinary(QueryEventsResponseSchema, body).response?.events.map((event) => [event.eventId, event]),
    );
    expect([...answered.keys()].sort()).toEqual(events.map((event) => event.eventId).sort());
    for (const event of events) {
      const back = answered.get(event.eventId) as Event;
      expect(back.contentHash).toMatch(/^[0-9a-f]{64}$/);
      expect(equals(EventSchema, withoutIntegrity(back), event)).toBe(true);
    }
  });
});
