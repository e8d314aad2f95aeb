import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventService } from "../../../src/app.ts";
import type { Database } from "../../../src/store/database.ts";
import { openDatabase } from "../../../src/store/sql/open-store.ts";
import { testAuditTrail } from "../../support/audit.ts";
import { ADMIN_URL, createTestDatabase, openTestStore, storeKinds } from "../../support/databases.ts";
import { startTestServer, type TestServer } from "../../support/server.ts";
import { connectClient, connectErrorOf, postRaw, SERVICES } from "./rpc.ts";
import { serve } from "./serve.ts";
import { startTcpProxy } from "./tcp-proxy.ts";

const services = SERVICES.map((s) => [s.typeName, s] as const);

/** Only what the server really does: it stores policy decisions and data-access events (no retention period is set). */
const CAPABILITIES = {
  wormRetention: false,
  auditProofs: true,
  distributedQuery: false,
  rbac: false,
  sso: false,
  policyDecisions: true,
  dataAccessEvents: true,
};

describe("on a working server", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("embedded");
  });
  afterAll(async () => {
    await server?.close();
  });

  it.each(services)("%s: Healthz answers OK, binary and JSON", async (_name, service) => {
    for (const format of ["binary", "json"] as const) {
      await expect(connectClient(service, server.baseUrl, format).healthz({})).resolves.toBeDefined();
    }
    const answer = await postRaw(server.baseUrl, service, "Healthz", "{}", "application/json");
    expect(answer).toEqual({ status: 200, json: {} });
  });

  it.each(services)("%s: GetCapabilities reports policy_decisions and data_access_events only", async (_n, service) => {
    const res = await connectClient(service, server.baseUrl).getCapabilities({});
    expect(res.capabilities).toMatchObject(CAPABILITIES);
    // In JSON, false is the default and left out: only the true ones appear, by their JSON names.
    const answer = await postRaw(server.baseUrl, service, "GetCapabilities", "{}", "application/json");
    expect(answer).toEqual({
      status: 200,
      json: { capabilities: { auditProofs: true, policyDecisions: true, dataAccessEvents: true } },
    });
  });
});

/**
 * A server over a store whose database goes away while it runs: Healthz turns `unavailable`
 * (HTTP 503 for Connect), the server itself keeps answering what needs no database, and
 * `GET /healthz` (the process is alive) does not ask the database at all. Healthz calls
 * carry a deadline, so a Healthz that never answers fails as deadline_exceeded instead of hanging.
 */
async function expectHealthGoesUnavailable(store: Database, makeUnreachable: () => Promise<void>) {
  const served = await serve(eventService(store), {
    audit: testAuditTrail(store),
  });
  const deadline = { timeoutMs: 10_000 };
  try {
    for (const [, service] of services) await connectClient(service, served.baseUrl).healthz({}, deadline);

    await makeUnreachable();

    // All at once: when the database is silent, each Healthz waits out the server's bound.
    const checks = services.map(async ([name, service]) => {
      const client = connectClient(service, served.baseUrl);
      const [err, answer] = await Promise.all([
        connectErrorOf(() => client.healthz({}, deadline)),
        postRaw(served.baseUrl, service, "Healthz", "{}", "application/json"),
      ]);
      expect(Code[err.code], name).toBe(Code[Code.Unavailable]);
      expect(err.rawMessage).toContain("the database cannot be reached");
      expect(answer, name).toMatchObject({ status: 503, json: { code: "unavailable" } });
      // Capabilities need no database.
      expect((await client.getCapabilities({})).capabilities).toMatchObject(CAPABILITIES);
    });
    await Promise.all(checks);
    const live = await fetch(`${served.baseUrl}/healthz`);
    expect([live.status, await live.json()]).toEqual([200, { status: "ok" }]);
    expect(await served.closeGracefully(10_000), "graceful close finished").toBe(true);
  } finally {
    await served.closeGracefully(10_000);
  }
}

describe("when the database cannot be reached", async () => {
  const kinds = await storeKinds();

  it("embedded: Healthz answers unavailable once the store is closed under the running server", async () => {
    const { store } = await openTestStore("embedded");
    await expectHealthGoesUnavailable(store, () => store.close());
  });

  if (kinds.includes("postgres")) {
    it("PostgreSQL: Healthz answers unavailable once the database is dropped under the running server", async () => {
      const db = await createTestDatabase();
      const log = { info: () => {}, error: () => {} };
      const store = await openDatabase({ kind: "postgres", databaseUrl: db.url, poolSize: 2 }, log);
      try {
        // DROP ... WITH (FORCE) ends the pool's open connections; reconnecting finds no database.
        await expectHealthGoesUnavailable(store, db.drop);
      } finally {
        await store.close();
        await db.drop();
      }
    });

    it("PostgreSQL: Healthz answers unavailable when the network to the database goes silent", async () => {
      const db = await createTestDatabase();
      const admin = new URL(ADMIN_URL);
      const proxy = await startTcpProxy({ host: admin.hostname, port: Number(admin.port || 5432) });
      const viaProxy = new URL(db.url);
      viaProxy.hostname = "127.0.0.1";
      viaProxy.port = String(proxy.port);
      const log = { info: () => {}, error: () => {} };
      const store = await openDatabase({ kind: "postgres", databaseUrl: viaProxy.toString(), poolSize: 2 }, log);
      try {
        // No error reaches the pool: its queries just never get an answer.
        await expectHealthGoesUnavailable(store, async () => proxy.partition());
      } finally {
        // Cutting the connections fails the queries still waiting, so the pool can end.
        await proxy.close();
        await store.close();
        await db.drop();
      }
    });
  }
});
