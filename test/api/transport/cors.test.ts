import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../../support/server.ts";
import { HEALTHZ, h1Request } from "./raw-http.ts";

const ALLOWED = "https://dash.example";
const INGEST = "/chaukas.spec.server.v1.ChaukasServerService/IngestEvent";

/** A header holding a comma-separated list, as lower-case names. */
function names(value: string | string[] | undefined): string[] {
  return String(value ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

describe("CORS for browser clients (Connect and gRPC-Web)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("embedded", { corsOrigins: [ALLOWED] });
  });
  afterAll(() => server.close());

  const preflight = (origin: string, requestHeaders: string) =>
    h1Request(`${server.baseUrl}${INGEST}`, undefined, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": requestHeaders,
      },
    });

  it.each([
    { protocol: "Connect", requestHeaders: "content-type,connect-protocol-version,connect-timeout-ms" },
    { protocol: "gRPC-Web", requestHeaders: "content-type,x-grpc-web,x-user-agent,grpc-timeout" },
  ])("allows a $protocol preflight from the configured origin", async ({ requestHeaders }) => {
    const reply = await preflight(ALLOWED, requestHeaders);
    expect(reply.status).toBe(204);
    expect(reply.headers["access-control-allow-origin"]).toBe(ALLOWED);
    expect(names(reply.headers["access-control-allow-methods"])).toContain("post");
    const allowed = names(reply.headers["access-control-allow-headers"]);
    for (const header of names(requestHeaders)) expect(allowed).toContain(header);
    expect(allowed).toEqual(expect.arrayContaining(["connect-protocol-version", "x-grpc-web", "content-type"]));
    const exposed = names(reply.headers["access-control-expose-headers"]);
    expect(exposed).toEqual(expect.arrayContaining(["grpc-status", "grpc-message"]));
    expect(names(reply.headers.vary)).toContain("origin");
  });

  it("exposes the gRPC trailers-as-headers to the allowed origin's scripts", async () => {
    const reply = await h1Request(`${server.baseUrl}${HEALTHZ}`, "{}", {
      headers: { origin: ALLOWED, "content-type": "application/json" },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers["access-control-allow-origin"]).toBe(ALLOWED);
    const exposed = names(reply.headers["access-control-expose-headers"]);
    expect(exposed).toEqual(expect.arrayContaining(["grpc-status", "grpc-message", "grpc-status-details-bin"]));
  });

  it("gives another origin no allow-origin, for a preflight or a request", async () => {
    const other = "https://evil.example";
    const reply = await preflight(other, "content-type,connect-protocol-version");
    expect(reply.headers["access-control-allow-origin"]).toBeUndefined();
    const request = await h1Request(`${server.baseUrl}${HEALTHZ}`, "{}", {
      headers: { origin: other, "content-type": "application/json" },
    });
    expect(request.headers["access-control-allow-origin"]).toBeUndefined();
  });
});
