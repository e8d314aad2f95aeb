import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { expect, test } from "vitest";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { KeyAuthenticator } from "../../src/domain/authenticator.ts";
import { createApiKey } from "../../src/domain/key-admin.ts";
import { RateLimiter } from "../../src/domain/rate-limiter.ts";
import { openTestStore } from "../support/databases.ts";
import { startTestServer } from "../support/server.ts";

test("a key over its rate is refused with a retry hint, on Connect and REST alike, and others are not", async () => {
  const keysDb = await openTestStore("embedded");
  const busy = await createApiKey(keysDb.store.keys, { tenantId: "acme", role: "read", projects: [] });
  const calm = await createApiKey(keysDb.store.keys, { tenantId: "acme", role: "read", projects: [] });
  // One token a second, a burst of 3: the fourth call in a row must be refused.
  const authenticator = new KeyAuthenticator(keysDb.store.keys, new RateLimiter(1, 3), () => {});
  const server = await startTestServer("embedded", { authenticator });
  try {
    const client = createClient(
      ChaukasServerService,
      createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" }),
    );
    const headers = { authorization: `Bearer ${busy.secret}` };
    for (let i = 0; i < 3; i++) await client.getCapabilities({}, { headers });
    const refused = await client.getCapabilities({}, { headers }).catch((err) => ConnectError.from(err));
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((refused as ConnectError).metadata.get("retry-after")).toBe("1");

    const rest = await fetch(`${server.baseUrl}/v1/capabilities`, { headers });
    expect(rest.status).toBe(429);
    expect(rest.headers.get("retry-after")).toBe("1");
    expect(await rest.json()).toMatchObject({ error: "resource_exhausted" });

    expect(
      (await client.getCapabilities({}, { headers: { authorization: `Bearer ${calm.secret}` } })).capabilities,
    ).toBeDefined();
  } finally {
    await server.close();
    await keysDb.close();
  }
});
