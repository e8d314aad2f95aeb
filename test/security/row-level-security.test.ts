import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { toEventRecord } from "../../src/core/event-record.ts";
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { ALL_TENANTS } from "../../src/store/tenant-scope.ts";
import { createTestDatabase, openTestStore, storeKinds } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";

describe.each(await storeKinds())("row-level security beneath the queries (%s)", (kind) => {
  let opened: Awaited<ReturnType<typeof openTestStore>>;
  beforeAll(async () => {
    opened = await openTestStore(kind);
    await opened.store.insertEvents(ALL_TENANTS, [
      toEventRecord(makeEvent({ tenantId: "a", eventId: "a-1" })),
      toEventRecord(makeEvent({ tenantId: "b", eventId: "b-1" })),
    ]);
  });
  afterAll(() => opened.close());

  test("a statement scoped to tenant a finds none of b's rows even when its filter asks for b", async () => {
    const asA = { tenantId: "a" };
    const page = { ascending: true, limit: 10 };
    expect(await opened.store.queryEvents(asA, { ...page, filter: { tenantId: "b" } })).toEqual([]);
    expect((await opened.store.queryEvents(asA, { ...page, filter: { tenantId: "a" } })).map((e) => e.eventId)).toEqual(
      ["a-1"],
    );
    expect((await opened.store.eventStats(asA, { tenantId: "b" })).totalEvents).toBe(0n);
  });

  test("the audit log is isolated the same way", async () => {
    const asA = { tenantId: "a" };
    expect(await opened.store.audit.pendingEvents(asA, "b")).toBe(0);
    expect(await opened.store.audit.pendingEvents(asA, "a")).toBe(1);
    await opened.store.audit.integrate(10);
    await opened.store.audit.addCheckpoint({ tenantId: "b", size: 1n, rootHash: new Uint8Array(32), note: "b" });
    expect(await opened.store.audit.entries(asA, "b", 0n, 10)).toEqual([]);
    expect(await opened.store.audit.entry(asA, "b", "b-1")).toBeUndefined();
    expect(await opened.store.audit.head(asA, "b")).toBeUndefined();
    expect(await opened.store.audit.checkpoint(asA, "b")).toBeUndefined();
    expect((await opened.store.audit.entries(asA, "a", 0n, 10)).map((e) => e.eventId)).toEqual(["a-1"]);
    await expect(opened.store.audit.subtreeHashes(asA, "b", [{ level: 0, index: 0 }])).rejects.toThrow(/not stored/);
  });

  test("a statement scoped to tenant a cannot write b's rows", async () => {
    await expect(
      opened.store.insertEvents({ tenantId: "a" }, [toEventRecord(makeEvent({ tenantId: "b" }))]),
    ).rejects.toThrow(/row-level security/);
  });
});

// Raw SQL needs a second connection to the same database, which only PostgreSQL offers (CI always has it).
describe.skipIf(!(await storeKinds()).includes("postgres"))("row-level security in raw SQL (PostgreSQL)", () => {
  test("SQL with no tenant predicate at all sees only the tenant of its setting", async () => {
    const db = await createTestDatabase();
    const store = await openDatabase(
      { kind: "postgres", databaseUrl: db.url, poolSize: 2 },
      { info: () => {}, error: () => {} },
    );
    await store.insertEvents(ALL_TENANTS, [
      toEventRecord(makeEvent({ tenantId: "a" })),
      toEventRecord(makeEvent({ tenantId: "b" })),
    ]);
    await store.close();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query("BEGIN; SET LOCAL ROLE chaukas_tenant; SELECT set_config('chaukas.tenant_id', 'a', true)");
      const { rows } = await client.query("SELECT tenant_id FROM events");
      expect(rows).toEqual([{ tenant_id: "a" }]);
      await client.query("ROLLBACK");
      await client.query("BEGIN; SET LOCAL ROLE chaukas_tenant");
      expect((await client.query("SELECT count(*)::int AS n FROM events")).rows).toEqual([{ n: 0 }]);
      await client.query("ROLLBACK");
    } finally {
      await client.end();
      await db.drop();
    }
  });

  test("every table with a tenant_id column that chaukas_tenant may touch forces row-level security", async () => {
    const db = await createTestDatabase();
    await (
      await openDatabase({ kind: "postgres", databaseUrl: db.url, poolSize: 1 }, { info: () => {}, error: () => {} })
    ).close();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{
        table: string;
        partition: boolean;
        granted: boolean;
        enabled: boolean;
        forced: boolean;
        policies: string[];
      }>(
        `SELECT c.relname AS table, c.relispartition AS partition, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced,
                has_table_privilege('chaukas_tenant', c.oid, 'SELECT, INSERT, UPDATE, DELETE') AS granted,
                array(SELECT p.polname::text FROM pg_policy p WHERE p.polrelid = c.oid ORDER BY 1) AS policies
         FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
         WHERE c.relkind IN ('r', 'p') AND c.relnamespace = 'public'::regnamespace ORDER BY 1`,
      );
      expect(rows.filter((r) => r.granted).length).toBeGreaterThan(10);
      for (const row of rows.filter((r) => r.granted))
        expect(row, row.table).toMatchObject({
          enabled: true,
          forced: true,
          policies: [`${row.table}_all_tenants`, `${row.table}_tenant_isolation`],
        });
      expect(rows.filter((r) => r.granted).map((r) => r.table)).toContain("events");
      // The partitions of events are reached only through it, under its policy.
      const partitions = rows.filter((r) => r.partition);
      expect(partitions.map((r) => r.table)).toContain("events_default");
      for (const row of partitions) expect(row, row.table).toMatchObject({ granted: false });
      // The rest, the API keys, are read before any tenant is known, and never in a tenant's scope.
      expect(rows.filter((r) => !r.granted && !r.partition).map((r) => r.table)).toEqual(["api_keys"]);
    } finally {
      await client.end();
      await db.drop();
    }
  });
});
