import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.ts";

/**
 * Every error of every route in one of the project's two shapes, never Fastify's own
 * (`{"statusCode", "code": "FST_...", "error"}`): Connect's `{code, message}` on RPC paths, the REST
 * `{error, message, violations?}` elsewhere.
 */

const SERVICE = "chaukas.spec.server.v1.ChaukasServerService";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer("embedded");
});
afterAll(async () => {
  await server?.close();
});

/** The answer to `body` sent with `contentType`, or with no Content-Type at all (fetch would add text/plain to a string). */
async function answer(method: string, path: string, body?: string, contentType?: string) {
  const res = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: contentType ? { "content-type": contentType } : {},
    body: body === undefined ? undefined : new TextEncoder().encode(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: a JSON answer, checked by the assertions.
  return { status: res.status, json: (await res.json()) as any };
}

describe("on RPC paths: Connect's shape", () => {
  it("a body without a Content-Type: 415, invalid_argument", async () => {
    expect(await answer("POST", `/${SERVICE}/Healthz`, "{}")).toEqual({
      status: 415,
      json: { code: "invalid_argument", message: "a body needs a Content-Type" },
    });
  });

  it("a procedure no service has: 404, unimplemented", async () => {
    expect(await answer("POST", `/${SERVICE}/NoSuchMethod`, "{}", "application/json")).toEqual({
      status: 404,
      json: { code: "unimplemented", message: `no procedure /${SERVICE}/NoSuchMethod here` },
    });
  });
});

describe("elsewhere: the REST shape", () => {
  it("a path no route serves: 404, not_found", async () => {
    expect(await answer("GET", "/v1/no-such-route?x=1")).toEqual({
      status: 404,
      json: { error: "not_found", message: "no route GET /v1/no-such-route" },
    });
  });

  it.each(["/v1/events", "/v1/events/batch", "/events", "/events/batch"])(
    "%s refuses text/plain with 415, as documented",
    async (path) => {
      expect(await answer("POST", path, "{}", "text/plain")).toEqual({
        status: 415,
        json: { error: "unsupported_media_type", message: 'Content-Type "text/plain" is not accepted here' },
      });
    },
  );

  it("a REST body without a Content-Type: 415", async () => {
    expect(await answer("POST", "/v1/events", "{}")).toEqual({
      status: 415,
      json: { error: "unsupported_media_type", message: "a body needs a Content-Type" },
    });
  });

  it("names the REST spelling of a camelCase property", async () => {
    const event = {
      event_id: "e1",
      type: "SESSION_START",
      status: "STARTED",
      timestamp: "2026-12-01T10:00:00Z",
      sessionId: "s1",
      projectId: "p",
    };
    const { status, json } = await answer("POST", "/v1/events", JSON.stringify(event), "application/json");
    expect(status).toBe(400);
    expect(json.violations).toEqual([
      { field: "sessionId", description: "is not a REST property: the REST API spells it session_id" },
      { field: "projectId", description: "is not a REST property: the REST API spells it project_id" },
      { field: "session_id", description: "is required" },
    ]);
  });
});
