import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary, toJson } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RedactionService } from "../../gen/chaukas/backend/v1/redaction_pb.ts";
import { IngestEventBatchRequestSchema, IngestEventRequestSchema } from "../../gen/chaukas/spec/client/v1/client_pb.ts";
import { type Event, EventSchema } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { buildServer } from "../../src/api/server.ts";
import { eventService } from "../../src/app.ts";
import { jsonRegistry } from "../../src/codec/formats/registry.ts";
import { eventToRestJson } from "../../src/codec/formats/rest-json.ts";
import { KeyAuthenticator } from "../../src/core/authenticator.ts";
import { createApiKey } from "../../src/core/key-admin.ts";
import type { Database } from "../../src/store/database.ts";
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { chatSpan, stringAttribute, traceRequestBytes } from "../otlp/otlp-requests.ts";
import { testAuditTrail } from "../support/audit.ts";
import { createTestDatabase, type StoreKind, storeKinds, withPostgres } from "../support/databases.ts";
import { EVERY_CONTENT, makeEvent } from "../support/events.ts";
import { TEST_SERVER_OPTIONS } from "../support/server.ts";
import { type Planted, plantedEvent, plantedSet } from "./planted-secrets.ts";

/** Every detector on (a detector that drops would drop every planted string whole), field rules on metadata and on the content. */
const RULES = {
  detectors: { email: "mask", phone: "hash", card_number: "mask", iban: "mask", jwt: "hash" },
  fields: [
    { path: "metadata.nested", method: "drop" },
    { path: "content.arguments.planted", method: "hash" },
  ],
  projects: {},
};

describe.each(await storeKinds())("planted secrets through every ingest route (%s)", (kind: StoreKind) => {
  let store: Database;
  let closeStore: () => Promise<void>;
  let dataDir: string | undefined;
  let dbUrl: string | undefined;
  let dropDb: (() => Promise<void>) | undefined;
  let baseUrl: string;
  let closeServer: () => Promise<void>;
  let admin: string;
  let ingestOnly: string;
  let logged = "";
  const answers: string[] = [];
  const planted: Planted[] = [];
  const headers = () => ({ authorization: `Bearer ${admin}` });

  /** A fresh planted set per event, kept for the scans. */
  const plant = (content: (typeof EVERY_CONTENT)[number]): Event => {
    const set = plantedSet();
    planted.push(...set);
    return plantedEvent(content, set);
  };
  const answer = (value: unknown) =>
    answers.push(
      typeof value === "string" ? value : JSON.stringify(value, (_, v) => (typeof v === "bigint" ? String(v) : v)),
    );

  beforeAll(async () => {
    if (kind === "embedded") {
      dataDir = mkdtempSync(join(tmpdir(), "chaukas-redaction-"));
      store = await openDatabase({ kind: "embedded", dataDir }, { info: () => {}, error: () => {} });
    } else {
      const db = await createTestDatabase();
      dbUrl = db.url;
      dropDb = db.drop;
      store = await openDatabase(
        { kind: "postgres", databaseUrl: db.url, poolSize: 4 },
        { info: () => {}, error: () => {} },
      );
    }
    closeStore = () => store.close();
    admin = (await createApiKey(store.keys, { tenantId: "acme", role: "admin", projects: [] })).secret;
    ingestOnly = (await createApiKey(store.keys, { tenantId: "acme", role: "ingest", projects: [] })).secret;
    const logger = pino(
      { level: "trace" },
      {
        write: (line: string) => {
          logged += line;
        },
      },
    );
    const events = eventService(store, { rbac: true });
    const app = await buildServer(events, {
      ...TEST_SERVER_OPTIONS,
      audit: testAuditTrail(store),
      authenticator: new KeyAuthenticator(store.keys, undefined, () => {}),
      logger,
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    closeServer = () => app.close();
  }, 180_000); // a fresh embedded data directory takes a while on a busy machine
  afterAll(async () => {
    await closeServer?.();
    await closeStore?.();
    await dropDb?.();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  test("only an admin key reads and sets the rules; each change is a new version", async () => {
    const rpc = createClient(RedactionService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
    const before = await rpc.getRules({}, { headers: headers() });
    expect(before.version).toBe(0);
    await expect(
      rpc.setRules({ rules: RULES }, { headers: { authorization: `Bearer ${ingestOnly}` } }),
    ).rejects.toThrow(/may not admin/);
    await expect(rpc.setRules({ rules: { detectors: { email: "scramble" } } }, { headers: headers() })).rejects.toThrow(
      /must be mask, hash, drop or off/,
    );
    expect((await rpc.setRules({ rules: { detectors: { email: "mask" } } }, { headers: headers() })).version).toBe(1);
    await expect(rpc.setRules({ rules: RULES, expectedVersion: 0 }, { headers: headers() })).rejects.toThrow(
      /version 1/,
    );
    expect((await rpc.setRules({ rules: RULES, expectedVersion: 1 }, { headers: headers() })).version).toBe(2);
    const after = await rpc.getRules({ tenantId: "acme" }, { headers: headers() });
    expect(after.version).toBe(2);
    expect(after.changedBy).toMatch(/^key /);
    expect(after.rules?.detectors).toEqual(RULES.detectors);
    expect((await store.redaction.rulesHistory({ tenantId: "acme" }, "acme")).map((r) => r.version)).toEqual([1, 2]);
  });

  test("every route stores every content kind redacted", async () => {
    const transports = {
      connect: createConnectTransport({ baseUrl, httpVersion: "1.1", jsonOptions: { registry: jsonRegistry } }),
      grpc: createGrpcTransport({ baseUrl }),
    };
    for (const transport of Object.values(transports)) {
      const client = createClient(ChaukasServerService, transport);
      for (const content of EVERY_CONTENT) {
        answer(await client.ingestEvent({ event: plant(content) }, { headers: headers() }));
      }
      // Over gRPC a binary batch goes through the wire path (event-wire.ts).
      const batch = EVERY_CONTENT.map(plant);
      const outcome = await client.ingestEventBatch({ eventBatch: { events: batch } }, { headers: headers() });
      answer(outcome);
      expect(outcome.acceptedCount).toBe(batch.length);
    }
    const post = async (path: string, body: string | Uint8Array, type: string) => {
      const response = await fetch(`${baseUrl}${path}`, {
        method: "POST",
        headers: { ...headers(), "content-type": type },
        body,
      });
      const text = await response.text();
      answers.push(text);
      expect(response.status, text).toBeLessThan(300);
    };
    // REST, in the spec's JSON.
    await post("/v1/events", JSON.stringify(eventToRestJson(plant(EVERY_CONTENT[0]))), "application/json");
    await post(
      "/v1/events/batch",
      JSON.stringify({ events: EVERY_CONTENT.map((c) => eventToRestJson(plant(c))) }),
      "application/json",
    );
    // The Python SDK's routes, in protobuf JSON and binary.
    const sdkBatch = (events: Event[]) => create(IngestEventBatchRequestSchema, { eventBatch: { events } });
    await post(
      "/events",
      JSON.stringify(
        toJson(IngestEventRequestSchema, create(IngestEventRequestSchema, { event: plant(EVERY_CONTENT[1]) }), {
          registry: jsonRegistry,
        }),
      ),
      "application/json",
    );
    await post(
      "/events/batch",
      toBinary(IngestEventBatchRequestSchema, sdkBatch(EVERY_CONTENT.map(plant))),
      "application/x-protobuf",
    );
    await post(
      "/events/batch",
      JSON.stringify(
        toJson(IngestEventBatchRequestSchema, sdkBatch(EVERY_CONTENT.map(plant)), { registry: jsonRegistry }),
      ),
      "application/json",
    );
    // OTLP: a span whose name and attributes hold them.
    const set = plantedSet();
    planted.push(...set);
    const joined = set.map((p) => p.text).join(" | ");
    const span = chatSpan({ name: `chat ${set[0].text}` });
    span.attributes = [
      ...(span.attributes ?? []),
      stringAttribute("gen_ai.prompt", joined),
      stringAttribute("user.note", joined),
    ];
    await post(
      "/v1/traces",
      traceRequestBytes([span], { "service.name": "svc", "chaukas.tenant_id": "acme" }),
      "application/x-protobuf",
    );

    // Read back, in JSON and binary: redacted, and saying so.
    const query = createClient(ChaukasServerService, transports.connect);
    const page = await query.queryEvents(
      { query: { filter: { tenantId: "acme" }, pageSize: 1000 } },
      { headers: headers() },
    );
    answer(page);
    const binaryPage = await createClient(ChaukasServerService, transports.grpc).queryEvents(
      { query: { filter: { tenantId: "acme" }, pageSize: 1000 } },
      { headers: headers() },
    );
    answer(binaryPage);
    const events = page.response?.events ?? [];
    // Connect and gRPC: singles and a batch each; REST: one and a batch; SDK: one and two batches;
    // OTLP: the span's two events (its request and its response).
    const sent = 2 * (2 * EVERY_CONTENT.length) + (1 + EVERY_CONTENT.length) + (1 + 2 * EVERY_CONTENT.length) + 2;
    expect(events.length).toBe(sent);
    for (const event of events) {
      expect(event.redaction?.fields.length, event.eventId).toBeGreaterThan(0);
      expect(event.redaction?.method).toMatch(/mask/);
    }
    const text = JSON.stringify(events.map((e) => toJson(EventSchema, e, { registry: jsonRegistry })));
    expect(text).toContain("[REDACTED:api_key]");
    expect(text).toMatch(/\[phone:[0-9a-f]{32}\]/);
    expect(events.some((e) => e.redaction?.saltId.startsWith("hmac-sha256:"))).toBe(true);
  });

  test("no planted text is anywhere: not the database, not the logs, not an answer", async () => {
    expect(planted.length).toBeGreaterThan(100);
    const places: [string, string][] = [
      ["logs", logged],
      ["answers", answers.join("\n")],
    ];
    if (dbUrl) places.push(["database", await everyColumnAsText(dbUrl)]);
    await closeServer();
    await closeStore();
    // Each file searched for each needle as bytes: a string of every file cost minutes.
    if (dataDir)
      expect(
        needlesInFiles(
          dataDir,
          planted.flatMap((p) => p.needles),
        ),
      ).toEqual([]);
    expect(logged.length).toBeGreaterThan(1000);
    for (const [where, text] of places) {
      for (const p of planted) {
        for (const needle of p.needles) expect(text.includes(needle), `${where} holds ${needle}`).toBe(false);
      }
    }
    closeServer = async () => {};
    closeStore = async () => {};
  }, 300_000);
});

describe("refusals", () => {
  let store: Database;
  let url: string;
  let drop: () => Promise<void>;
  let baseUrl: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const db = await createTestDatabase();
    url = db.url;
    drop = db.drop;
    store = await openDatabase(
      { kind: "postgres", databaseUrl: url, poolSize: 2 },
      { info: () => {}, error: () => {} },
    );
    const app = await buildServer(eventService(store), { ...TEST_SERVER_OPTIONS, audit: testAuditTrail(store) });
    await app.listen({ host: "127.0.0.1", port: 0 });
    baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    close = () => app.close();
  });
  afterAll(async () => {
    await close();
    await store.close();
    await drop();
  });

  test("a Struct key with a lone surrogate is refused with the reason", async () => {
    // Written by hand: the escapes are what a JSON client sends for a lone surrogate.
    const event = JSON.stringify(toJson(EventSchema, makeEvent({ metadata: {} })));
    const body = `{"event":${event.replace('"metadata":{}', '"metadata":{"a\\ud800":1,"a\\udc00":2}')}}`;
    const response = await fetch(`${baseUrl}/chaukas.spec.server.v1.ChaukasServerService/IngestEvent`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    expect(body).toContain("a\\ud800");
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("is a key with a lone UTF-16 surrogate");
  });

  test("when the rules cannot be read, events are refused, not stored raw (fail closed)", async () => {
    const client = createClient(ChaukasServerService, createGrpcTransport({ baseUrl }));
    const set = plantedSet();
    // A tenant whose rules no event has read yet (they are kept for a few seconds once read).
    const closedEvent = (content: (typeof EVERY_CONTENT)[number]) => {
      const event = plantedEvent(content, set);
      event.tenantId = "closed";
      return event;
    };
    await withPostgres(url, (owner) => owner.query("REVOKE SELECT ON redaction_rules FROM chaukas_tenant"));
    const outcome = await client.ingestEvent({ event: closedEvent(EVERY_CONTENT[0]) }).catch((err) => err);
    const batch = await client
      .ingestEventBatch({ eventBatch: { events: [closedEvent(EVERY_CONTENT[1])] } })
      .catch((err) => err);
    await withPostgres(url, (owner) => owner.query("GRANT SELECT ON redaction_rules TO chaukas_tenant"));
    expect(outcome).toBeInstanceOf(Error);
    expect(batch).toBeInstanceOf(Error);
    const stored = await everyColumnAsText(url);
    for (const p of set) for (const needle of p.needles) expect(stored).not.toContain(needle);
    expect(String(outcome.message)).not.toContain(set[0].text);
  });
});

/** Every value of every column of every table, bytes as Latin-1 (so UTF-8 text shows as it is). */
async function everyColumnAsText(url: string): Promise<string> {
  return withPostgres(url, async (client) => {
    const { rows: tables } = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    );
    const parts: string[] = [];
    for (const { table_name } of tables) {
      const { rows } = await client.query(`SELECT * FROM ${client.escapeIdentifier(table_name)}`);
      for (const row of rows) {
        for (const value of Object.values(row)) {
          parts.push(Buffer.isBuffer(value) ? value.toString("latin1") : (JSON.stringify(value) ?? ""));
        }
      }
    }
    return parts.join("\n");
  });
}

/** Which needles any file of the directory holds, as bytes (Latin-1: UTF-8 text as it is). */
function needlesInFiles(dir: string, needles: string[]): string[] {
  const found = new Set<string>();
  for (const name of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    const path = join(dir, name);
    if (!statSync(path).isFile()) continue;
    const bytes = readFileSync(path);
    for (const needle of needles) if (bytes.indexOf(needle, 0, "latin1") >= 0) found.add(needle);
  }
  return [...found];
}
