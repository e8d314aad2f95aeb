import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startServerProcess } from "../../kit/server-process.ts";
import { KEY_CACHE_MS } from "../../src/core/authenticator.ts";
import { createApiKey } from "../../src/core/key-admin.ts";
import type { Database } from "../../src/store/database.ts";
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { createTestDatabase, storeKinds } from "../support/databases.ts";

// A second server process needs a database two processes can share: PostgreSQL (CI always has it).
describe.skipIf(!(await storeKinds()).includes("postgres"))("revocation across server processes", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let store: Database;
  beforeAll(async () => {
    db = await createTestDatabase();
    store = await openDatabase(
      { kind: "postgres", databaseUrl: db.url, poolSize: 2 },
      { info: () => {}, error: () => {} },
    );
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  test(`a key revoked by one process is refused by another within ${KEY_CACHE_MS} ms`, async () => {
    const { key, secret } = await createApiKey(store.keys, { tenantId: "acme", role: "read", projects: [] });
    const { child: server, baseUrl } = await startServerProcess(["--database-url", db.url]);
    try {
      const capabilities = () =>
        fetch(`${baseUrl}/v1/capabilities`, { headers: { authorization: `Bearer ${secret}` } }).then((r) => r.status);
      expect(await capabilities()).toBe(200);

      expect(await store.keys.revokeKey(key.id)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, KEY_CACHE_MS + 50));
      expect(await capabilities()).toBe(401);
      expect((await store.keys.listKeys("acme"))[0].revokedAt).toBeInstanceOf(Date);
    } finally {
      server.kill("SIGTERM");
    }
  });
});
