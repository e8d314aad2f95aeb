import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { create, createRegistry, type JsonObject, toBinary, toJson } from "@bufbuild/protobuf";
import {
  AnySchema,
  anyPack,
  anyUnpack,
  file_google_protobuf_any,
  file_google_protobuf_struct,
  ValueSchema,
} from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IngestEventBatchRequestSchema } from "../../gen/chaukas/spec/client/v1/client_pb.ts";
import { type Event, EventSchema } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { file_chaukas_spec_common_v1_query, SortOrder } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { buildServer } from "../../src/api/server.ts";
import { eventService } from "../../src/app.ts";
import { UNRESTRICTED } from "../../src/core/access.ts";
import type { AuditTrail } from "../../src/core/audit/audit-trail.ts";
import { canonicalPayload, toEventRecord } from "../../src/core/event-record.ts";
import { readWireEvent } from "../../src/core/event-wire.ts";
import type { Database } from "../../src/store/database.ts";
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { restPost } from "../api/http/rest/rest-client.ts";
import { runCli, tempDir } from "../cli/run-cli.ts";
import { testAuditTrail, testSigner } from "../support/audit.ts";
import { createTestDatabase, type StoreKind, storeKinds } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";
import { TEST_SERVER_OPTIONS } from "../support/server.ts";

// Opening a store, starting a server and running the CLI take seconds each on a shared machine.
const SLOW = 120_000;

/** A Value number proto3 JSON cannot carry, packed as an extension. */
const packedNumber = (value: number) =>
  anyPack(ValueSchema, create(ValueSchema, { kind: { case: "numberValue", value } }));

/**
 * Events each holding Value numbers proto3 JSON cannot carry, where they can be: in metadata,
 * deep in a Struct of the content, and packed in an extension.
 */
function poisonedEvents(sessionId: string): { metadata: Event; content: Event; extension: Event } {
  return {
    metadata: makeEvent({ sessionId, metadata: { x: Number.NaN, fine: 1.5 } }),
    content: makeEvent({
      sessionId,
      content: {
        case: "toolCall",
        value: { name: "calc", arguments: { list: [1, { deep: Number.POSITIVE_INFINITY }] } },
      },
    }),
    extension: makeEvent({ sessionId, extensions: [packedNumber(Number.NEGATIVE_INFINITY)] }),
  };
}

/** What each poisoned event is refused for, under the prefix that names it in the request. */
const REASONS = {
  metadata: (at: string) => `${at}.metadata.fields["x"]: number_value NaN cannot be represented in proto3 JSON`,
  content: (at: string) =>
    `${at}.tool_call.arguments.fields["list"].list_value.values[1].struct_value.fields["deep"]: number_value Infinity cannot be represented in proto3 JSON`,
  extension: (at: string) =>
    `${at}.extensions[0][google.protobuf.Value]: number_value -Infinity cannot be represented in proto3 JSON`,
};

/**
 * Events whose extension JSON cannot unpack: bytes that are not the type named, and a type_url
 * naming no type; and one of a type the server does not know, which JSON shows by name alone.
 */
function extensionEvents(sessionId: string, tenantId = "acme") {
  const extended = (typeUrl: string, ...value: number[]) =>
    makeEvent({ tenantId, sessionId, extensions: [create(AnySchema, { typeUrl, value: Uint8Array.from(value) })] });
  return {
    // A length-delimited field 1 whose 5 bytes are missing.
    badBytes: extended("type.googleapis.com/google.protobuf.Struct", 0x0a, 0x05),
    badUrl: extended("type.googleapis.com/not a type", 0x08, 0x01),
    unknown: extended("type.googleapis.com/example.v1.Unknown", 0x08, 0x01),
  };
}

const EXTENSION_REASONS = {
  badBytes: (at: string) =>
    `${at}.extensions[0]: cannot be represented in proto3 JSON: its value is not a valid google.protobuf.Struct: premature EOF`,
  badUrl: (at: string) =>
    `${at}.extensions[0]: cannot be represented in proto3 JSON: its type_url "type.googleapis.com/not a type" names no message type`,
};

/** JSON clients unpack the extensions: they need their types. */
const registry = createRegistry(
  file_chaukas_spec_common_v1_query,
  file_google_protobuf_struct,
  file_google_protobuf_any,
);

const BINARY_TRANSPORTS: { name: string; make: (baseUrl: string) => Transport }[] = [
  {
    name: "Connect binary",
    make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
  },
  { name: "gRPC", make: (baseUrl) => createGrpcTransport({ baseUrl }) },
  { name: "gRPC-Web", make: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }) },
];

describe("readWireEvent leaves non-finite Value numbers to the full decode, which names them", () => {
  it.each(Object.entries(poisonedEvents("s")))("in %s", (_, event) => {
    expect(readWireEvent(toBinary(EventSchema, event))).toBeUndefined();
  });

  it("still reads finite numbers from the wire, in extensions too", () => {
    const event = makeEvent({ metadata: { x: 1e308, y: -0.5 }, extensions: [packedNumber(3)] });
    expect(readWireEvent(toBinary(EventSchema, event))).toBeDefined();
  });
});

/** A store of the given kind that outlives the server over it, and the CLI flags that reach it. */
async function openStore(
  kind: StoreKind,
): Promise<{ store: Database; cliArgs: string[]; remove: () => Promise<void> }> {
  const quiet = { info: () => {}, error: () => {} };
  if (kind === "postgres") {
    const db = await createTestDatabase();
    const store = await openDatabase({ kind, databaseUrl: db.url, poolSize: 4 }, quiet);
    return { store, cliArgs: ["--database-url", db.url], remove: db.drop };
  }
  const dir = tempDir();
  const dataDir = join(dir.path, "data");
  const store = await openDatabase({ kind, dataDir }, quiet);
  return { store, cliArgs: ["--data-dir", dataDir], remove: async () => dir.remove() };
}

const kinds = await storeKinds();

describe.each(kinds)("what proto3 JSON cannot write, on the %s store", (kind) => {
  let store: Database;
  let cliArgs: string[];
  let remove: () => Promise<void>;
  let app: FastifyInstance;
  let audit: AuditTrail;
  let baseUrl: string;
  let logged = "";
  const signer = testSigner();

  beforeAll(async () => {
    ({ store, cliArgs, remove } = await openStore(kind));
    audit = testAuditTrail(store, signer);
    const logger = pino(
      { level: "warn" },
      {
        write: (line: string) => {
          logged += line;
        },
      },
    );
    const events = eventService(store);
    app = await buildServer(events, { ...TEST_SERVER_OPTIONS, audit, logger });
    await app.listen({ host: "127.0.0.1", port: 0 });
    baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  }, SLOW);
  afterAll(async () => {
    await app.close();
    await store.close().catch(() => {}); // the export test closes it first
    await remove();
  }, SLOW);

  const sessionEvents = async (sessionId: string, transport: Transport, tenantId = "acme") => {
    const client = createClient(ChaukasServerService, transport);
    const { response } = await client.queryEvents({
      query: { filter: { tenantId, sessionId }, orderByTime: SortOrder.ASC },
    });
    return response?.events ?? [];
  };

  describe.each(BINARY_TRANSPORTS)("ingest over $name", ({ make }) => {
    it("rejects each event holding one in a batch, with its id and reason, and stores the others", async () => {
      const sessionId = `nan-${randomUUID()}`;
      const good = makeEvent({ sessionId, metadata: { x: 1 } });
      const bad = poisonedEvents(sessionId);
      const client = createClient(ChaukasServerService, make(baseUrl));
      const batchId = randomUUID();
      const answer = await client.ingestEventBatch({
        eventBatch: { batchId, events: [bad.metadata, good, bad.content, bad.extension] },
      });
      expect(answer.acceptedCount).toBe(1);
      expect(answer.rejectedEventIds).toEqual([bad.metadata.eventId, bad.content.eventId, bad.extension.eventId]);
      const rejection = logged.split("\n").find((line) => line.includes(batchId));
      expect(rejection).toBeDefined();
      const reasons = JSON.parse(rejection as string).rejected.map((r: { reason: string }) => r.reason);
      expect(reasons).toEqual([
        REASONS.metadata("event_batch.events[0]"),
        REASONS.content("event_batch.events[2]"),
        REASONS.extension("event_batch.events[3]"),
      ]);
      expect((await sessionEvents(sessionId, make(baseUrl))).map((e) => e.eventId)).toEqual([good.eventId]);
    });

    it("rejects each event with an extension JSON cannot unpack, and stores one of an unknown type", async () => {
      const sessionId = `ext-${randomUUID()}`;
      // Another tenant's: JSON shows an unknown type by name alone, so its export cannot verify.
      const { badBytes, badUrl, unknown } = extensionEvents(sessionId, "other");
      const client = createClient(ChaukasServerService, make(baseUrl));
      const batchId = randomUUID();
      const answer = await client.ingestEventBatch({ eventBatch: { batchId, events: [badBytes, unknown, badUrl] } });
      expect(answer.rejectedEventIds).toEqual([badBytes.eventId, badUrl.eventId]);
      const rejection = logged.split("\n").find((line) => line.includes(batchId));
      expect(JSON.parse(rejection as string).rejected.map((r: { reason: string }) => r.reason)).toEqual([
        EXTENSION_REASONS.badBytes("event_batch.events[0]"),
        EXTENSION_REASONS.badUrl("event_batch.events[2]"),
      ]);
      const err = await client.ingestEvent({ event: badUrl }).then(
        () => undefined,
        (e) => ConnectError.from(e),
      );
      expect(err?.rawMessage).toBe(EXTENSION_REASONS.badUrl("event"));
      const stored = await sessionEvents(sessionId, make(baseUrl), "other");
      expect(stored.map((e) => e.eventId)).toEqual([unknown.eventId]);
    });

    it("refuses a single event holding one with invalid_argument and the reason", async () => {
      const client = createClient(ChaukasServerService, make(baseUrl));
      for (const [place, event] of Object.entries(poisonedEvents(`nan-${randomUUID()}`))) {
        const err = await client.ingestEvent({ event }).then(
          () => undefined,
          (e) => ConnectError.from(e),
        );
        expect(err?.code, place).toBe(Code.InvalidArgument);
        expect(err?.rawMessage).toBe(REASONS[place as keyof typeof REASONS]("event"));
      }
    });
  });

  // JSON has no NaN, but a number too large for a double parses as ±Infinity.
  const overflowing = (event: Event) =>
    JSON.stringify(toJson(EventSchema, event, { registry })).replace('"x":0', '"x":-1e999');

  it("Connect JSON ingest refuses a number that overflows to -Infinity, alone in a batch", async () => {
    const sessionId = `nan-${randomUUID()}`;
    const good = makeEvent({ sessionId });
    const bad = makeEvent({ sessionId, metadata: { x: 0 } });
    const post = (method: string, body: string) =>
      fetch(`${baseUrl}/${ChaukasServerService.typeName}/${method}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
    const single = await post("IngestEvent", `{"event":${overflowing(bad)}}`);
    expect(single.status).toBe(400);
    expect(((await single.json()) as { message: string }).message).toBe(
      'event.metadata.fields["x"]: number_value -Infinity cannot be represented in proto3 JSON',
    );
    const batch = await post(
      "IngestEventBatch",
      `{"eventBatch":{"events":[${overflowing(bad)},${JSON.stringify(toJson(EventSchema, good))}]}}`,
    );
    expect(await batch.json()).toMatchObject({ acceptedCount: 1, rejectedEventIds: [bad.eventId] });
  });

  it("the REST API refuses it too, with the reason", async () => {
    const body =
      '{"events":[{"event_id":"rest-inf","tenant_id":"acme","project_id":"web","session_id":"s",' +
      '"type":"SESSION_START","status":"STARTED","timestamp":"2026-02-03T04:05:06Z","metadata":{"x":1e999}}]}';
    const answer = await restPost(baseUrl, "/v1/events/batch", body);
    expect(answer.status).toBe(202);
    expect(answer.body.rejections).toEqual([
      {
        event_id: "rest-inf",
        reason: 'events[0].metadata.fields["x"]: number_value Infinity cannot be represented in proto3 JSON',
      },
    ]);
  });

  it("the SDK's binary batch route rejects them with their reasons", async () => {
    const sessionId = `nan-${randomUUID()}`;
    const good = makeEvent({ sessionId });
    const bad = poisonedEvents(sessionId);
    const body = toBinary(
      IngestEventBatchRequestSchema,
      create(IngestEventBatchRequestSchema, { eventBatch: { events: [good, bad.content, bad.extension] } }),
    );
    const res = await fetch(`${baseUrl}/events/batch`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf" },
      body,
    });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { accepted: number; rejections: unknown[] };
    expect(answer.accepted).toBe(1);
    expect(answer.rejections).toEqual([
      { event_id: bad.content.eventId, reason: REASONS.content("event_batch.events[1]") },
      { event_id: bad.extension.eventId, reason: REASONS.extension("event_batch.events[2]") },
    ]);
  });

  it("an extension holding thousands of nested Anys is refused at ingest, and answered in JSON if stored", async () => {
    const sessionId = `deep-${randomUUID()}`;
    let any = anyPack(AnySchema, create(AnySchema));
    for (let i = 0; i < 5000; i++) any = anyPack(AnySchema, any);
    const deep = makeEvent({ tenantId: "deep", sessionId, extensions: [any] });
    const good = makeEvent({ tenantId: "deep", sessionId });
    const client = createClient(ChaukasServerService, createGrpcTransport({ baseUrl }));
    const batchId = randomUUID();
    const answer = await client.ingestEventBatch({ eventBatch: { batchId, events: [good, deep] } });
    expect(answer.rejectedEventIds).toEqual([deep.eventId]);
    const rejection = JSON.parse(logged.split("\n").find((line) => line.includes(batchId)) as string);
    expect(rejection.rejected[0].reason).toMatch(
      /^event_batch\.events\[1\]\.extensions\[0\](\[google\.protobuf\.Any\]){64}: cannot be represented in proto3 JSON: it holds extensions nested more than 64 deep$/,
    );

    await store.insertEvents({ tenantId: "deep" }, [toEventRecord(deep)]);
    const json = createConnectTransport({
      baseUrl,
      httpVersion: "1.1",
      useBinaryFormat: false,
      jsonOptions: { registry },
    });
    const events = await sessionEvents(sessionId, json, "deep");
    expect(events.map((e) => e.eventId)).toEqual([good.eventId, deep.eventId].sort((a, b) => (a < b ? -1 : 1)));
  });

  describe("one stored all the same is answered by every read", () => {
    const sessionId = `stored-${randomUUID()}`;
    const before = makeEvent({ sessionId });
    const { metadata, content, extension } = poisonedEvents(sessionId);
    const after = makeEvent({ sessionId });
    const stored = [before, metadata, content, extension, after];
    // Another tenant's: its export cannot verify (JSON drops what it cannot unpack).
    const { badBytes, badUrl } = extensionEvents(sessionId, "other");
    const otherStored = [badBytes, badUrl];
    let checkpointNote: string;

    beforeAll(async () => {
      // Beneath ingest, as an event stored before the rule was.
      await store.insertEvents({ tenantId: "acme" }, stored.map(toEventRecord));
      await store.insertEvents({ tenantId: "other" }, otherStored.map(toEventRecord));
      await audit.integrateAndSign();
      checkpointNote = (await audit.checkpoint(UNRESTRICTED, "acme", 0n)).note;
    }, SLOW);

    it("in Connect JSON, each such number as a string", async () => {
      const transport = createConnectTransport({
        baseUrl,
        httpVersion: "1.1",
        useBinaryFormat: false,
        jsonOptions: { registry },
      });
      const events = await sessionEvents(sessionId, transport);
      expect(events.map((e) => e.eventId)).toEqual(stored.map((e) => e.eventId));
      expect(events[1].metadata).toEqual({ x: "NaN", fine: 1.5 });
      expect(events[2].content.value).toMatchObject({ arguments: { list: [1, { deep: "Infinity" }] } });
      const packed = anyUnpack(events[3].extensions[0], ValueSchema);
      expect(packed?.kind).toEqual({ case: "stringValue", value: "-Infinity" });

      // An extension JSON cannot unpack is written as an empty Any.
      const others = await sessionEvents(sessionId, transport, "other");
      expect(others.map((e) => e.eventId)).toEqual(otherStored.map((e) => e.eventId));
      expect(others.map((e) => e.extensions.map((x) => x.typeUrl))).toEqual([[""], [""]]);
    });

    it.each(BINARY_TRANSPORTS)("in $name, as stored", async ({ make }) => {
      const events = await sessionEvents(sessionId, make(baseUrl));
      expect(events.map((e) => e.eventId)).toEqual(stored.map((e) => e.eventId));
      expect(events.map((e) => Buffer.from(canonicalPayload(e)).toString("hex"))).toEqual(
        stored.map((e) => Buffer.from(canonicalPayload(e)).toString("hex")),
      );
      expect(events[1].metadata?.x).toBeNaN();
      const others = await sessionEvents(sessionId, make(baseUrl), "other");
      expect(others.map((e) => e.extensions)).toEqual(otherStored.map((e) => e.extensions));
    });

    it("in the REST API, each such number as a string", async () => {
      const answer = await restPost(baseUrl, "/v1/query", {
        filter: { tenant_id: "acme", session_id: sessionId },
        order_by_time: "ASC",
      });
      expect(answer.status).toBe(200);
      const events: JsonObject[] = answer.body.events;
      expect(events.map((e) => e.event_id)).toEqual(stored.map((e) => e.eventId));
      expect(events[1].metadata).toEqual({ x: "NaN", fine: 1.5 });
      expect(events[2].content).toMatchObject({ kind: "tool_call", arguments: { list: [1, { deep: "Infinity" }] } });

      // Extensions travel raw here, whatever they hold.
      const others = await restPost(baseUrl, "/v1/query", {
        filter: { tenant_id: "other", session_id: sessionId },
        order_by_time: "ASC",
      });
      expect(others.status).toBe(200);
      expect(others.body.events.map((e: JsonObject) => e.extensions)).toEqual(
        otherStored.map((e) => [
          { type_url: e.extensions[0].typeUrl, value: Buffer.from(e.extensions[0].value).toString("base64") },
        ]),
      );
    });

    it(
      "in `chaukas export`, which exits 0 with every line, and the export verifies offline",
      async () => {
        await app.close();
        await store.close(); // the embedded store's data dir is the CLI's now
        // biome-ignore lint/suspicious/noExplicitAny: a test reads any JSON line
        const sessionLines = (stdout: string): any[] =>
          stdout
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => JSON.parse(l))
            .filter((l) => l.session_id === sessionId);
        const result = await runCli(["export", "--tenant", "acme", ...cliArgs]);
        expect(result.stderr).not.toMatch(/error/i);
        expect(result.code).toBe(0);
        const lines = sessionLines(result.stdout);
        expect(lines.map((l) => l.event_id)).toEqual(stored.map((e) => e.eventId));
        expect(lines[1].metadata).toEqual({ x: "NaN", fine: 1.5 });
        expect(lines[2].tool_call.arguments).toEqual({ list: [1, { deep: "Infinity" }] });
        expect(lines[3].extensions).toEqual([
          { "@type": "type.googleapis.com/google.protobuf.Value", value: "-Infinity" },
        ]);

        // Each line re-hashes to the hash the log signed: the strings are read back as the numbers.
        const dir = tempDir();
        try {
          const exported = join(dir.path, "acme.jsonl");
          const checkpoint = join(dir.path, "checkpoint.txt");
          writeFileSync(exported, result.stdout);
          writeFileSync(checkpoint, checkpointNote);
          const verified = await runCli([
            "verify",
            "--export",
            exported,
            "--checkpoint",
            checkpoint,
            "--public-key",
            signer.verifierKey,
          ]);
          expect(verified.stdout).toMatch(/^OK: \d+ entries/);
          expect(verified.code).toBe(0);
        } finally {
          dir.remove();
        }

        const other = await runCli(["export", "--tenant", "other", ...cliArgs]);
        expect(other.code).toBe(0);
        expect(sessionLines(other.stdout).map((l) => [l.event_id, l.extensions])).toEqual(
          otherStored.map((e) => [e.eventId, [{}]]),
        );
      },
      SLOW,
    );
  });
});
