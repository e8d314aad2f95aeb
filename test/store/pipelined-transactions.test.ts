import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Database } from "../../src/store/database.ts";
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { inTenantScope, queryInTenantScope } from "../../src/store/sql/pool.ts";
import { ALL_TENANTS } from "../../src/store/tenant-scope.ts";
import { CountingRelay } from "../support/counting-relay.ts";
import { openTestStore, postgresReachable, withPostgres } from "../support/databases.ts";
import { eventRecord } from "../support/records.ts";

/**
 * Scoped transactions on a PostgreSQL server's pool, which pipelines: a statement alone costs one
 * round trip (the opening, the statement and COMMIT leave together), a longer body one round trip
 * fewer than it has statements plus two. Round trips are counted by a TCP relay between the pool
 * and the real server: a turn is the client writing after the server has answered.
 */

const requirePostgres = (await postgresReachable()) || Boolean(process.env.CI);

describe.runIf(requirePostgres)("scoped transactions on PostgreSQL", () => {
  let url: string;
  let closeMigrated: () => Promise<void>;
  let relay: CountingRelay;
  let relayedUrl: string;
  let store: Database;
  let pool: pg.Pool;

  beforeAll(async () => {
    const migrated = await openTestStore("postgres");
    closeMigrated = migrated.close;
    url = migrated.url as string;
    ({ relay, url: relayedUrl } = await CountingRelay.inFrontOf(url));
    store = await openDatabase(
      { kind: "postgres", databaseUrl: relayedUrl, poolSize: 1 },
      { info: () => {}, error: () => {} },
    );
    pool = new pg.Pool({ connectionString: relayedUrl, pipeline: true, max: 1 });
    // Connections made and the insert statement parsed once before any turn is counted.
    await store.insertEvents({ tenantId: "warm" }, [eventRecord({ tenantId: "warm", eventId: "warm-1" })]);
    await pool.query("SELECT 1");
  });

  afterAll(async () => {
    await pool?.end();
    await store?.close();
    await relay?.close();
    await closeMigrated?.();
  });

  beforeEach(() => relay.reset());

  it("stores a batch in one round trip, and reads a page in one", async () => {
    const records = ["a", "b", "c"].map((id) => eventRecord({ tenantId: "one-trip", eventId: id }));
    await store.insertEvents({ tenantId: "one-trip" }, records);
    expect(relay.total()).toBe(1);

    relay.reset();
    const page = await store.queryEvents(
      { tenantId: "one-trip" },
      { filter: { tenantId: "one-trip" }, ascending: true, limit: 10 },
    );
    expect(page.map((event) => event.eventId).sort()).toEqual(["a", "b", "c"]);
    expect(relay.total()).toBe(1);
  });

  it("sends a body's first statement with the opening: two statements, three round trips", async () => {
    const [first, second] = await inTenantScope(pool, { tenantId: "t" }, async (client) => [
      (await client.query<{ tenant: string }>("SELECT current_setting('chaukas.tenant_id') AS tenant")).rows[0].tenant,
      (await client.query<{ role: string }>("SELECT current_user AS role")).rows[0].role,
    ]);
    expect([first, second]).toEqual(["t", "chaukas_tenant"]);
    expect(relay.total()).toBe(3);
  });

  it("runs nothing behind a tenant setting that fails", async () => {
    // A NUL cuts the setting's message short: PostgreSQL refuses the message. The login role of the
    // tests is a superuser, which row-level security does not bind: run outside the transaction,
    // this insert would be stored.
    const write = queryInTenantScope(
      pool,
      { tenantId: "cut\u0000short" },
      "INSERT INTO retention_policies (tenant_id, project_id, days, set_by) VALUES ('victim', '', 1, 'probe')",
    );
    await expect(write).rejects.toThrow(/invalid message format/);
    const stored = await withPostgres(url, async (client) =>
      client.query("SELECT 1 FROM retention_policies WHERE tenant_id = 'victim'"),
    );
    expect(stored.rowCount).toBe(0);
    // The pool serves the next scope.
    const { rows } = await queryInTenantScope<{ tenant: string }>(
      pool,
      { tenantId: "next" },
      "SELECT current_setting('chaukas.tenant_id') AS tenant",
    );
    expect(rows[0].tenant).toBe("next");
  });

  it("tells the opening's error when the role cannot be taken, and runs nothing behind it", async () => {
    const login = `no_scope_${process.pid}`;
    await withPostgres(url, (client) => client.query(`CREATE ROLE ${login} LOGIN`));
    const outsider = new URL(relayedUrl);
    outsider.username = login;
    const outsiderPool = new pg.Pool({ connectionString: outsider.toString(), pipeline: true, max: 1 });
    try {
      const write = queryInTenantScope(
        outsiderPool,
        { tenantId: "t" },
        "INSERT INTO retention_policies (tenant_id, project_id, days, set_by) VALUES ('t', '', 1, 'outsider')",
      );
      await expect(write).rejects.toThrow(/permission denied to set role "chaukas_tenant"/);
    } finally {
      await outsiderPool.end();
      await withPostgres(url, (client) => client.query(`DROP ROLE ${login}`));
    }
    const stored = await withPostgres(url, (client) =>
      client.query("SELECT 1 FROM retention_policies WHERE set_by = 'outsider'"),
    );
    expect(stored.rowCount).toBe(0);
  });

  it("ends the transaction of a body that throws before it sends anything", async () => {
    const failing = inTenantScope(pool, { tenantId: "t" }, (() => {
      throw new Error("thrown at once");
    }) as () => Promise<never>);
    await expect(failing).rejects.toThrow("thrown at once");
    const { rows } = await pool.query<{ open: boolean }>("SELECT now() <> statement_timestamp() AS open");
    expect(rows[0].open).toBe(false);
  });

  it("fails a statement with its own error and leaves the connection out of the transaction", async () => {
    const failing = queryInTenantScope(pool, ALL_TENANTS, "SELECT 1 / (SELECT count(*) FROM events WHERE false)");
    await expect(failing).rejects.toThrow(/division by zero/);
    const { rows } = await pool.query<{ open: boolean }>("SELECT now() <> statement_timestamp() AS open");
    expect(rows[0].open).toBe(false);
  });
});
