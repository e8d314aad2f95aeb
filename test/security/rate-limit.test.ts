import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { expect, test } from "vitest";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { KeyAuthenticator } from "../../src/core/authenticator.ts";
import { createApiKey } from "../../src/core/key-admin.ts";
import { RateLimiter } from "../../src/core/rate-limiter.ts";
import { openTestStore, storeKinds } from "../support/databases.ts";
import { startTestServer } from "../support/server.ts";

const PER_SECOND = 0.001;
/**
 * A Retry-After for an empty bucket: the whole seconds until one token is back, 1000 at most. As
 * much as a few minutes may have passed since the burst on a loaded machine, and no more.
 */
const isTokenWait = (seconds: number) => Number.isInteger(seconds) && seconds > 800 && seconds <= 1 / PER_SECOND;

// Keys are looked up in the store on every request (past a short cache): on both stores.
test.each(await storeKinds())(
  "a key over its rate is refused with a retry hint, on Connect and REST alike, and others are not (%s store)",
  async (kind) => {
    const keysDb = await openTestStore(kind);
    const busy = await createApiKey(keysDb.store.keys, { tenantId: "acme", role: "read", projects: [] });
    const calm = await createApiKey(keysDb.store.keys, { tenantId: "acme", role: "read", projects: [] });
    // A burst of 3 and one token back every 1000 s: the fourth call is refused however slowly the
    // calls run (the bucket's arithmetic over time is test/core/rate-limiter.test.ts's).
    const authenticator = new KeyAuthenticator(keysDb.store.keys, new RateLimiter(PER_SECOND, 3), () => {});
    const server = await startTestServer(kind, { authenticator });
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
      expect(Number((refused as ConnectError).metadata.get("retry-after"))).toSatisfy(isTokenWait);

      const rest = await fetch(`${server.baseUrl}/v1/capabilities`, { headers });
      expect(rest.status).toBe(429);
      expect(Number(rest.headers.get("retry-after"))).toSatisfy(isTokenWait);
      expect(await rest.json()).toMatchObject({ error: "resource_exhausted" });

      expect(
        (await client.getCapabilities({}, { headers: { authorization: `Bearer ${calm.secret}` } })).capabilities,
      ).toBeDefined();
    } finally {
      await server.close();
      await keysDb.close();
    }
  },
);
