import http2 from "node:http2";
import { credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../../support/server.ts";
import { grpcJsClient } from "./grpc-js-client.ts";
import { closeSession, connected, HEALTHZ, h1Request, h2Post } from "./raw-http.ts";
import { selfSignedCert } from "./tls-cert.ts";

describe("TLS on the one port: ALPN h2 and http/1.1", () => {
  let cert: Buffer;
  let server: TestServer;
  let origin: string;
  beforeAll(async () => {
    const pair = selfSignedCert();
    cert = pair.cert;
    server = await startTestServer("embedded", { tls: pair });
    origin = `https://127.0.0.1:${server.port}`;
  });
  afterAll(() => server?.close());

  it("negotiates h2 by ALPN and answers over HTTP/2", async () => {
    const session = await connected(http2.connect(origin, { ca: cert }));
    try {
      expect(session.alpnProtocol).toBe("h2");
      expect(await h2Post(session, HEALTHZ, "{}")).toMatchObject({ status: 200, body: "{}" });
    } finally {
      await closeSession(session);
    }
  });

  it.each([
    { client: "offering http/1.1 by ALPN", alpn: ["http/1.1"], negotiated: "http/1.1" },
    { client: "offering no ALPN at all", alpn: undefined, negotiated: false },
  ])("answers HTTP/1.1 to a client $client", async ({ alpn, negotiated }) => {
    const reply = await h1Request(`${origin}${HEALTHZ}`, "{}", { ca: cert, ALPNProtocols: alpn });
    expect(reply).toMatchObject({ status: 200, httpVersion: "1.1", body: "{}", alpnProtocol: negotiated });
  });

  it("serves a standard gRPC client over TLS", async () => {
    const client = grpcJsClient(
      "chaukas.spec.server.v1.ChaukasServerService",
      `127.0.0.1:${server.port}`,
      credentials.createSsl(cert),
      // The certificate names both; a TLS server name may not be an IP address (RFC 6066).
      { "grpc.ssl_target_name_override": "localhost" },
    );
    try {
      expect(await client.call("Healthz", {})).toEqual({});
      const event = {
        event_id: "tls-1",
        tenant_id: "tls",
        project_id: "web",
        session_id: "s-tls",
        type: "EVENT_TYPE_AGENT_START",
        timestamp: { seconds: "1764072000", nanos: 5 },
      };
      expect(await client.call("IngestEvent", { event })).toMatchObject({ event_id: "tls-1", status: "accepted" });
      const res = await client.call("QueryEvents", { query: { filter: { tenant_id: "tls" } } });
      expect(res.response.events).toEqual([expect.objectContaining(event)]);
    } finally {
      client.close();
    }
  });
});
