import zlib from "node:zlib";
import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Event, EventSchema } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { SortOrder } from "../../../gen/chaukas/spec/common/v1/query_pb.ts";
import {
  IngestEventBatchRequestSchema,
  QueryEventsRequestSchema,
  QueryEventsResponseSchema,
} from "../../../gen/chaukas/spec/server/v1/server_pb.ts";
import { storeKinds } from "../../support/databases.ts";
import { EVERY_CONTENT, fullEvent, withoutIntegrity } from "../../support/events.ts";
import { startTestServer, type TestServer } from "../../support/server.ts";
import { h1Request } from "./raw-http.ts";

const SERVICE = "/chaukas.spec.server.v1.ChaukasServerService";

/** A Connect unary call in binary over HTTP/1.1; the answer's body as sent, still compressed. */
async function post(port: number, method: string, body: Uint8Array, acceptEncoding?: string) {
  const headers: Record<string, string> = { "content-type": "application/proto" };
  if (acceptEncoding) headers["accept-encoding"] = acceptEncoding;
  const reply = await h1Request(`http://127.0.0.1:${port}${SERVICE}/${method}`, body, { headers });
  return { status: reply.status, encoding: reply.headers["content-encoding"], body: reply.bytes };
}

const DECOMPRESS: Record<string, (body: Buffer) => Buffer> = {
  gzip: (body) => zlib.gunzipSync(body),
  br: (body) => zlib.brotliDecompressSync(body),
};

describe.each(await storeKinds())("compressed answers from the %s store", (kind) => {
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
    server = await startTestServer(kind);
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
