import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../../../support/server.ts";
import { restEvent, restPost } from "./rest-client.ts";

const REQUIRED = ["event_id", "type", "status", "timestamp", "session_id"];

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer("embedded");
});
afterAll(() => server.close());

/** POSTs and expects a 400 whose body lists violations; returns their fields. */
async function refusedFields(path: string, body: unknown): Promise<string[]> {
  const answer = await restPost(server.baseUrl, path, body);
  expect(answer.status).toBe(400);
  expect(answer.body).toMatchObject({ error: "invalid_argument", message: expect.any(String) });
  for (const v of answer.body.violations)
    expect(v).toEqual({ field: expect.any(String), description: expect.any(String) });
  // The message repeats every violation, for clients that only show the message.
  for (const v of answer.body.violations) expect(answer.body.message).toContain(`${v.field}: ${v.description}`);
  return answer.body.violations.map((v: { field: string }) => v.field);
}

describe("400 answers of POST /v1/events", () => {
  it("list every missing required property", async () => {
    expect(await refusedFields("/v1/events", {})).toEqual(REQUIRED);
  });

  it.each(REQUIRED)("name %s when it alone is missing or empty", async (property) => {
    expect(await refusedFields("/v1/events", restEvent({ [property]: undefined }))).toEqual([property]);
    expect(await refusedFields("/v1/events", restEvent({ [property]: "" }))).toEqual([property]);
  });

  it("name each bad enum name, saying which names are allowed", async () => {
    const answer = await restPost(
      server.baseUrl,
      "/v1/events",
      restEvent({ type: "NOPE", status: "DONE", severity: "LOUD", author: "ME" }),
    );
    expect(answer.status).toBe(400);
    expect(answer.body.violations).toEqual([
      { field: "type", description: expect.stringContaining("SESSION_START") },
      { field: "status", description: expect.stringContaining("COMPLETED") },
      { field: "severity", description: expect.stringContaining("WARN") },
      { field: "author", description: expect.stringContaining("LLM") },
    ]);
  });

  it("refuse the enum value UNSPECIFIED for type", async () => {
    expect(await refusedFields("/v1/events", restEvent({ type: "UNSPECIFIED" }))).toEqual(["type"]);
  });

  it.each([{ kind: "video" }, { text: "no kind" }, "a string"])(
    "name content.kind for the content %j",
    async (content) => {
      expect(await refusedFields("/v1/events", restEvent({ content }))).toEqual(["content.kind"]);
    },
  );

  it("name a bad field inside the content as the client wrote it", async () => {
    const content = { kind: "tool_call", name: 5, auth_required: "yes" };
    expect(await refusedFields("/v1/events", restEvent({ content }))).toEqual([
      "content.name",
      "content.auth_required",
    ]);
  });

  it.each([
    ["yesterday", "timestamp"],
    ["2026-13-01T00:00:00Z", "timestamp"],
  ])("name the timestamp %s", async (timestamp, field) => {
    expect(await refusedFields("/v1/events", restEvent({ timestamp }))).toEqual([field]);
  });

  it("name other mistyped and unknown properties", async () => {
    const fields = await refusedFields(
      "/v1/events",
      restEvent({ tags: "one", cost: { total_tokens: "many" }, colour: "red" }),
    );
    expect(fields).toEqual(["tags", "cost.total_tokens", "colour"]);
  });

  it("refuse malformed JSON naming the body", async () => {
    expect(await refusedFields("/v1/events", '{"event_id": "e1",')).toEqual(["body"]);
  });

  it("refuse an event that is not an object", async () => {
    expect(await refusedFields("/v1/events", "[1, 2]")).toEqual(REQUIRED);
  });
});

describe("400 answers of POST /v1/events/batch", () => {
  it.each([[{}], [{ events: {} }], [{ events: "e1" }], [[]]])(
    "name events when it is not an array: %j",
    async (body) => {
      expect(await refusedFields("/v1/events/batch", body)).toEqual(["events"]);
    },
  );

  it("refuse malformed JSON naming the body", async () => {
    expect(await refusedFields("/v1/events/batch", '{"events": [')).toEqual(["body"]);
  });
});

describe("400 answers of POST /v1/query", () => {
  it.each([[{}], [{ filter: "acme" }]])("name filter when it is missing: %j", async (body) => {
    expect(await refusedFields("/v1/query", body)).toEqual(["filter"]);
  });

  it("name the tenant when the filter has none", async () => {
    expect(await refusedFields("/v1/query", { filter: { project_id: "p" } })).toEqual(["filter.tenant_id"]);
  });

  it("name a bad order_by_time and bad enum names in the filter", async () => {
    const fields = await refusedFields("/v1/query", {
      filter: { tenant_id: "t", types: ["SESSION_START", "BOGUS"], severities: ["LOUD"] },
      order_by_time: "UP",
    });
    expect(fields).toEqual(["filter.types[1]", "filter.severities[0]", "order_by_time"]);
  });

  it("name a page_token that is not one this server issued", async () => {
    expect(await refusedFields("/v1/query", { filter: { tenant_id: "t" }, page_token: "forged" })).toEqual([
      "page_token",
    ]);
  });

  it("name a time range whose end is before its start", async () => {
    const time = { start: "2026-02-01T00:00:00Z", end: "2026-01-01T00:00:00Z" };
    expect(await refusedFields("/v1/query", { filter: { tenant_id: "t", time } })).toEqual(["filter.time.end"]);
  });
});
