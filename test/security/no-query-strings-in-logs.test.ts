import { pino } from "pino";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startTestServer, type TestServer } from "../support/server.ts";

/** Query strings can carry secrets or personal data: request logs name the path only. */

let logged = "";
let server: TestServer;
beforeAll(async () => {
  const logger = pino({ level: "trace" }, { write: (line: string) => (logged += line) });
  server = await startTestServer("embedded", { logger, sdkPathPrefix: "/api" });
});
afterAll(async () => {
  await server?.close();
});

test.each([
  ["an unknown route", "GET", "/api/v1/events"],
  ["the REST query", "POST", "/v1/query"],
  ["an SDK route", "POST", "/api/events"],
  ["an RPC", "POST", "/chaukas.spec.server.v1.ChaukasServerService/QueryEvents"],
])("%s is logged with its path and without its query string", async (_name, method, path) => {
  logged = "";
  const res = await fetch(`${server.baseUrl}${path}?session_id=secret123&email=a%40b.example`, {
    method,
    headers: method === "POST" ? { "content-type": "application/json" } : {},
    body: method === "POST" ? "{}" : undefined,
  });
  await res.arrayBuffer();
  await expect.poll(() => logged).toContain(`"msg":"rpc"`);
  expect(logged).toContain(`"procedure":"${path}"`);
  expect(logged).not.toContain("secret123");
  expect(logged).not.toContain("a%40b.example");
});
