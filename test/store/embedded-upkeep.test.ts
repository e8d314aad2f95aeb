import { PGlite } from "@electric-sql/pglite";
import { createPgConfig } from "@electric-sql/pglite/node-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedUpkeep } from "../../src/store/sql/embedded-upkeep.ts";
import { SqlEventStore } from "../../src/store/sql/event-store.ts";
import { migrate } from "../../src/store/sql/migrate.ts";
import { ALL_TENANTS } from "../../src/store/tenant-scope.ts";
import { eventRecord } from "../support/records.ts";

/** PGlite has no autovacuum worker: the embedded store's upkeep gives the planner its statistics. */
describe("the embedded database's upkeep", () => {
  let db: PGlite;
  let pool: pg.Pool;
  let store: SqlEventStore;
  const quiet = { info: () => {}, error: () => {} };
  const stored = async (count: number, from: number) => {
    const records = Array.from({ length: count }, (_, i) => eventRecord({ tenantId: "acme", eventId: `e${from + i}` }));
    await store.insertEvents(ALL_TENANTS, records);
    await store.audit.integrate(10_000);
  };
  const counted = async (table: string) =>
    Number((await pool.query("SELECT reltuples FROM pg_class WHERE relname = $1", [table])).rows[0].reltuples);
  /** The partition of `events` that holds the test's events (all of one time): a table of its own. */
  const eventsPartition = async () =>
    (await pool.query<{ name: string }>("SELECT tableoid::regclass::text AS name FROM events LIMIT 1")).rows[0].name;

  beforeAll(async () => {
    db = await PGlite.create("memory://");
    pool = new pg.Pool(createPgConfig(db));
    await migrate(pool, quiet);
    store = new SqlEventStore(pool, { onClose: () => db.close() });
  });
  afterAll(() => store?.close());

  it("vacuums and analyses each table the first time, then only those that grew by a tenth", async () => {
    await stored(500, 0);
    const events = await eventsPartition();
    // Never analysed: the planner has no row count for the events.
    expect(await counted(events)).toBe(-1);
    // Every table is "big" here, so the growth rule alone decides.
    const upkeep = new EmbeddedUpkeep(pool, quiet, { smallTablePages: 0, growth: 0.1 });
    const first = await upkeep.runRound();
    expect(first).toEqual(expect.arrayContaining([events, "audit_leaves"]));
    expect(await counted(events)).toBe(500);
    expect(await upkeep.runRound()).toEqual([]);
    await stored(500, 500);
    const third = await upkeep.runRound();
    expect(third).toContain(events);
    expect(await counted(events)).toBe(1000);
  });

  it("vacuums every small table on every round, and stops between tables", async () => {
    const upkeep = new EmbeddedUpkeep(pool, quiet);
    const tables = await upkeep.runRound();
    expect(tables).toEqual(expect.arrayContaining([await eventsPartition(), "api_keys", "audit_heads"]));
    expect(await upkeep.runRound()).toEqual(tables);
    await upkeep.stop();
    expect(await upkeep.runRound()).toEqual([]);
  });
});
