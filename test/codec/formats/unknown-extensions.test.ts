import { create } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ChaukasServerService } from "../../../gen/chaukas/spec/server/v1/server_pb.ts";
import { makeEvent } from "../../support/events.ts";
import { startTestServer, type TestServer } from "../../support/server.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

test("an extension of a type the server does not know is stored whole and does not break JSON readers", async () => {
  const custom = create(AnySchema, { typeUrl: "type.googleapis.com/acme.Custom", value: new Uint8Array([8, 1]) });
  const event = makeEvent({ tenantId: "ext", extensions: [custom] });
  const binary = createClient(
    ChaukasServerService,
    createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
  );
  await binary.ingestEvent({ event });

  const stored = await binary.queryEvents({ query: { filter: { tenantId: "ext" } } });
  expect(stored.response?.events[0].extensions).toEqual([custom]);

  const res = await fetch(`${server.baseUrl}/chaukas.spec.server.v1.ChaukasServerService/QueryEvents`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: { filter: { tenantId: "ext" } } }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { response: { events: { extensions: unknown[] }[] } };
  expect(body.response.events[0].extensions).toEqual([{ "@type": "type.googleapis.com/acme.Custom" }]);

  const rest = await fetch(`${server.baseUrl}/v1/query`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ filter: { tenant_id: "ext" } }),
  });
  const restBody = (await rest.json()) as { events: { extensions: unknown[] }[] };
  expect(restBody.events[0].extensions).toEqual([{ type_url: "type.googleapis.com/acme.Custom", value: "CAE=" }]);
});

test("JSON input may name a type the server does not know: its type URL is kept", async () => {
  const event = { eventId: "e", tenantId: "ext2", projectId: "p", sessionId: "s", type: "EVENT_TYPE_SYSTEM" };
  const url = `${server.baseUrl}/chaukas.spec.server.v1.ChaukasServerService`;
  const post = (method: string, body: unknown) =>
    fetch(`${url}/${method}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const ingest = await post("IngestEvent", {
    event: { ...event, timestamp: "2026-01-01T00:00:00Z", extensions: [{ "@type": "type.googleapis.com/acme.Other" }] },
  });
  expect(ingest.status).toBe(200);
  const query = await post("QueryEvents", { query: { filter: { tenantId: "ext2" } } });
  const body = (await query.json()) as { response: { events: { extensions: unknown[] }[] } };
  expect(body.response.events[0].extensions).toEqual([{ "@type": "type.googleapis.com/acme.Other" }]);
});
