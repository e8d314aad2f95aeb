import { toJson } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventSchema } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { eventToRestJson } from "../../src/codec/formats/rest-json.ts";
import { makeEvent } from "../support/events.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

/**
 * PostgreSQL text cannot hold NUL: an id carrying one must be refused as invalid_argument on every
 * route that reads ids, not reach the database and answer internal.
 */

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer("embedded");
});
afterAll(async () => {
  await server?.close();
});

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const AUDIT = "/chaukas.backend.v1.AuditService";
const SERVER = "/chaukas.spec.server.v1.ChaukasServerService";
const CLIENT = "/chaukas.spec.client.v1.ChaukasClientService";

describe("NUL in an id", () => {
  it.each([
    ["GetInclusionProof event_id", `${AUDIT}/GetInclusionProof`, { tenantId: "t", eventId: "e\u0000" }, "event_id"],
    ["GetInclusionProof tenant_id", `${AUDIT}/GetInclusionProof`, { tenantId: "t\u0000", eventId: "e" }, "tenant_id"],
    ["GetCheckpoint tenant_id", `${AUDIT}/GetCheckpoint`, { tenantId: "t\u0000" }, "tenant_id"],
    [
      "GetConsistencyProof tenant_id",
      `${AUDIT}/GetConsistencyProof`,
      { tenantId: "\u0000", fromSize: "1" },
      "tenant_id",
    ],
    [
      "QueryEvents session_id",
      `${SERVER}/QueryEvents`,
      { query: { filter: { tenantId: "t", sessionId: "s\u0000" } } },
      "query.filter.session_id",
    ],
    [
      "QueryEvents tenant_id",
      `${CLIENT}/QueryEvents`,
      { query: { filter: { tenantId: "t\u0000" } } },
      "query.filter.tenant_id",
    ],
    ["GetEventStats project_id", `${SERVER}/GetEventStats`, { tenantId: "t", projectId: "p\u0000" }, "project_id"],
  ])("%s answers invalid_argument naming the field", async (_name, path, body, field) => {
    const answer = await post(path, body);
    expect(answer.status).toBe(400);
    expect(answer.json.code).toBe("invalid_argument");
    expect(answer.json.message).toContain(`${field}: must not contain the NUL character`);
  });

  it("in a page token answers invalid_argument", async () => {
    const answer = await post(`${SERVER}/QueryEvents`, { query: { filter: { tenantId: "t" }, pageToken: "a\u0000b" } });
    expect(answer.status).toBe(400);
    expect(answer.json.code).toBe("invalid_argument");
  });

  it("in an event sent to the SDK route or the REST API answers 400 naming the field", async () => {
    const sdk = await post("/events", { event: toJson(EventSchema, makeEvent({ sessionId: "s\u0000" })) });
    expect(sdk.status).toBe(400);
    expect(JSON.stringify(sdk.json)).toContain("event.session_id: must not contain the NUL character");
    const rest = await post("/v1/events", eventToRestJson(makeEvent({ eventId: "e\u0000" })));
    expect(rest.status).toBe(400);
    expect(JSON.stringify(rest.json)).toContain("event_id: must not contain the NUL character");
  });

  it("in the REST query filter answers 400 naming the field", async () => {
    const answer = await post("/v1/query", { filter: { tenant_id: "t", session_id: "s\u0000" } });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.json)).toContain("must not contain the NUL character");
  });
});
