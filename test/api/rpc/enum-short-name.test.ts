import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../../support/server.ts";
import { postRaw, SERVICES } from "./rpc.ts";

/** Connect JSON wants enum values by their full names; a short one is refused saying which to use. */
describe("an enum value by its short name in Connect JSON", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("embedded");
  });
  afterAll(async () => {
    await server?.close();
  });

  it.each(SERVICES.map((s) => [s.typeName, s] as const))("%s: QueryEvents names the full name", async (_, service) => {
    const body = JSON.stringify({ query: { filter: { types: ["SESSION_START"] } } });
    const answer = await postRaw(server.baseUrl, service, "QueryEvents", body, "application/json");
    expect(answer).toEqual({
      status: 400,
      json: {
        code: "invalid_argument",
        message:
          'cannot decode enum chaukas.spec.common.v1.EventType from JSON: "SESSION_START": protobuf JSON names enum values in full, use "EVENT_TYPE_SESSION_START"',
      },
    });
  });

  it("an event's severity likewise, and a name that is no value at all is refused as before", async () => {
    const [service] = SERVICES;
    const event = (severity: string) =>
      JSON.stringify({ event: { eventId: "e1", tenantId: "t", sessionId: "s", severity } });
    const short = await postRaw(server.baseUrl, service, "IngestEvent", event("INFO"), "application/json");
    expect(short.json).toMatchObject({ code: "invalid_argument" });
    expect((short.json as { message: string }).message).toContain('use "SEVERITY_INFO"');
    const unknown = await postRaw(server.baseUrl, service, "IngestEvent", event("LOUD"), "application/json");
    expect(unknown).toEqual({
      status: 400,
      json: {
        code: "invalid_argument",
        message: 'cannot decode enum chaukas.spec.common.v1.Severity from JSON: "LOUD"',
      },
    });
  });
});
