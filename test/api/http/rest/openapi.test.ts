import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../../../support/server.ts";
import { restGet, restPost } from "./rest-client.ts";

/** The content kinds the published API names, plus this server's documented state_update. */
const PUBLISHED_KINDS = [
  "message",
  "tool_call",
  "tool_response",
  "llm_invocation",
  "policy_decision",
  "data_access",
  "error_info",
  "agent_handoff",
  "mcp_call",
];
const OPENAPI_30_TYPES = new Set(["string", "number", "integer", "boolean", "array", "object"]);

type Json = Record<string, unknown>;

let server: TestServer;
// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document is read as plain JSON
let doc: any;
beforeAll(async () => {
  server = await startTestServer("embedded");
  const answer = await restGet(server.baseUrl, "/openapi.json");
  expect(answer.status).toBe(200);
  expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
  doc = answer.body;
});
afterAll(() => server.close());

/** Every object in the document, with its JSON path. */
function* walk(node: unknown, path = "#"): Generator<[string, Json]> {
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) yield* walk(item, `${path}/${i}`);
  } else if (typeof node === "object" && node !== null) {
    yield [path, node as Json];
    for (const [key, value] of Object.entries(node)) yield* walk(value, `${path}/${key}`);
  }
}

function resolve(ref: string): Json {
  expect(ref).toMatch(/^#\/components\/schemas\/[A-Za-z0-9._-]+$/);
  const schema = doc.components.schemas[ref.split("/").at(-1) as string];
  expect(schema, ref).toBeDefined();
  return schema;
}

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.0.3 document of the Chaukas Public API 1.0.5", () => {
    expect(doc.openapi).toBe("3.0.3");
    expect(doc.info).toMatchObject({ title: "Chaukas Public API", version: "1.0.5" });
  });

  it("documents each route of the REST API with its success status", () => {
    const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item as Json).map(([method, op]) => [
        `${method.toUpperCase()} ${path}`,
        Object.keys((op as { responses: Json }).responses).filter((s) => s.startsWith("2")),
      ]),
    );
    expect(Object.fromEntries(operations)).toEqual({
      "GET /healthz": ["200"],
      "GET /v1/capabilities": ["200"],
      "POST /v1/events": ["202"],
      "POST /v1/events/batch": ["202"],
      "POST /v1/query": ["200"],
    });
    for (const [, op] of walk(doc.paths)) {
      if ("responses" in op) {
        for (const response of Object.values(op.responses as Record<string, Json>)) {
          expect(typeof response.description).toBe("string");
        }
      }
    }
  });

  it("documents only routes this server serves", async () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item as Json)) {
        const answer =
          method === "get" ? await restGet(server.baseUrl, path) : await restPost(server.baseUrl, path, {});
        expect([200, 202, 400], `${method} ${path}`).toContain(answer.status);
      }
    }
  });

  it("uses only OpenAPI 3.0 schema forms, and every $ref resolves", () => {
    for (const [path, node] of walk(doc)) {
      if (typeof node.$ref === "string") resolve(node.$ref);
      if ("type" in node && typeof node.type !== "object") {
        expect(OPENAPI_30_TYPES, `${path}/type`).toContain(node.type);
        if (node.type === "array") expect(node.items, `${path}/items`).toBeDefined();
      }
      expect(node, path).not.toHaveProperty("const");
      expect(node, path).not.toHaveProperty("$defs");
    }
    for (const name of Object.keys(doc.components.schemas)) expect(name).toMatch(/^[A-Za-z0-9._-]+$/);
  });

  it("marks the spec's required properties", () => {
    const { Event, EventBatch, QueryRequest } = doc.components.schemas;
    expect(Event.required).toEqual(["event_id", "type", "status", "timestamp", "session_id"]);
    for (const name of Event.required) expect(Event.properties).toHaveProperty(name);
    expect(EventBatch.required).toEqual(["events"]);
    expect(QueryRequest.required).toEqual(["filter"]);
  });

  it("spells enums by their bare names and timestamps as RFC 3339 strings", () => {
    const { Event, QueryRequest } = doc.components.schemas;
    expect(Event.properties.type.enum).toEqual(expect.arrayContaining(["SESSION_START", "TOOL_CALL_END", "SYSTEM"]));
    expect(Event.properties.status.enum).toEqual(expect.arrayContaining(["STARTED", "COMPLETED", "CANCELLED"]));
    expect(Event.properties.severity.enum).toEqual(expect.arrayContaining(["DEBUG", "INFO", "WARN", "ERROR"]));
    for (const [, node] of walk(doc)) {
      if (Array.isArray(node.enum)) {
        expect(node.enum.some((v: string) => /^(EVENT_TYPE|EVENT_STATUS|SEVERITY|AUTHOR|SORT_ORDER)_/.test(v))).toBe(
          false,
        );
      }
    }
    expect(QueryRequest.properties.order_by_time.enum).toEqual(expect.arrayContaining(["ASC", "DESC"]));
    expect(Event.properties.timestamp).toEqual({ type: "string", format: "date-time" });
  });

  it("describes content as a union over every kind, with a discriminator mapping each kind", () => {
    const content = doc.components.schemas.Event.properties.content;
    expect(content.discriminator.propertyName).toBe("kind");
    const kinds = Object.keys(content.discriminator.mapping);
    expect(kinds).toEqual(expect.arrayContaining(PUBLISHED_KINDS));
    expect(kinds.filter((k) => !PUBLISHED_KINDS.includes(k))).toEqual(["state_update"]);
    expect(content.oneOf).toEqual(kinds.map((k) => ({ $ref: content.discriminator.mapping[k] })));
    for (const kind of kinds) {
      const variant = resolve(content.discriminator.mapping[kind]);
      const parts = (variant.allOf as Json[] | undefined) ?? [variant];
      const own = parts.find((p) => (p.properties as Json | undefined)?.kind) as Json;
      expect((own.properties as Json).kind, kind).toEqual({ type: "string", enum: [kind] });
      expect(own.required).toEqual(["kind"]);
    }
  });
});
