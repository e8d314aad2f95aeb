import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_UPKEEP_RULE, EmbeddedUpkeep } from "../../src/store/sql/embedded-upkeep.ts";
import { SqlEventStore } from "../../src/store/sql/event-store.ts";
import { migrate } from "../../src/store/sql/migrate.ts";
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { embeddedPoolConfig } from "../../src/store/sql/pglite-connection.ts";
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
  const counted = async (table: string, on: pg.Pool | pg.PoolClient = pool) =>
    Number((await on.query("SELECT reltuples FROM pg_class WHERE relname = $1", [table])).rows[0].reltuples);
  /** Every table is "big" here, so the growth rule alone decides, and each waits for a quiet moment. */
  const everyTableBig = { ...DEFAULT_UPKEEP_RULE, smallTablePages: 0 };
  /** The partition of `events` that holds the test's events (all of one time): a table of its own. */
  const eventsPartition = async () =>
    (await pool.query<{ name: string }>("SELECT tableoid::regclass::text AS name FROM events LIMIT 1")).rows[0].name;

  beforeAll(async () => {
    db = await PGlite.create("memory://");
    pool = new pg.Pool(embeddedPoolConfig(db));
    await migrate(pool, quiet);
    store = new SqlEventStore(pool, { onClose: () => db.close() });
  });
  afterAll(() => store?.close());

  it("vacuums and analyses each table the first time, then only those that grew by a tenth", async () => {
    await stored(500, 0);
    const events = await eventsPartition();
    // Never analysed: the planner has no row count for the events.
    expect(await counted(events)).toBe(-1);
    const upkeep = new EmbeddedUpkeep(pool, quiet, everyTableBig);
    const first = await upkeep.runRound();
    expect(first).toEqual(expect.arrayContaining([events, "audit_leaf_tiles"]));
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

  /**
   * Two loops asking how many events the planner counted, each asking again as soon as it has its
   * answer: the pool's one client always has a statement running and another waiting, as under a
   * burst of queries. Returns every count seen.
   */
  const burst = async (table: string, queries: number) => {
    const seen = new Set<number>();
    const loop = async () => {
      for (let i = 0; i < queries; i++) seen.add(await counted(table));
    };
    await Promise.all([loop(), loop()]);
    return seen;
  };

  /** A round started once the events grew by 500 since the last one, so that they are due. */
  const roundAfterGrowth = async (from: number) => {
    const upkeep = new EmbeddedUpkeep(pool, quiet, everyTableBig);
    await upkeep.runRound();
    await stored(500, from);
    const events = await eventsPartition();
    const before = await counted(events);
    return { upkeep, events, before, round: upkeep.runRound() };
  };

  it("vacuums a big table only once no statement has been in flight for a while", async () => {
    const { events, before, round } = await roundAfterGrowth(1000);
    // Without the wait, the VACUUM would take its turn in the middle of the burst.
    expect(await burst(events, 200)).toEqual(new Set([before]));
    expect(await round).toContain(events);
    expect(await counted(events)).toBe(before + 500);
  });

  it("stops a round that waits for a quiet moment at once", async () => {
    const { upkeep, events, before, round } = await roundAfterGrowth(1500);
    const busy = burst(events, 200);
    await counted(events);
    await upkeep.stop();
    // Not interrupted, the round would wait for the burst's end and then vacuum a table.
    expect(await round).toEqual([]);
    expect(await busy).toEqual(new Set([before]));
    expect(await counted(events)).toBe(before);
  });
});

describe("the embedded store's start", () => {
  it("vacuums and analyses the tables that grew before it serves", async () => {
    const root = mkdtempSync(join(tmpdir(), "chaukas-upkeep-"));
    const dataDir = join(root, "data");
    const quiet = { info: () => {}, error: () => {} };
    try {
      const first = await openDatabase({ kind: "embedded", dataDir }, quiet);
      const records = Array.from({ length: 500 }, (_, i) => eventRecord({ tenantId: "acme", eventId: `e${i}` }));
      await first.insertEvents(ALL_TENANTS, records);
      await first.close();
      // Closed again at once: the rounds while serving start 30 s later, so only the catch-up can have counted.
      await (await openDatabase({ kind: "embedded", dataDir }, quiet)).close();
      const db = await PGlite.create(dataDir);
      try {
        const { rows } = await db.query<{ reltuples: number; relpages: number }>(
          // The partition that holds the events: upkeep counts tables, and a partitioned table holds no rows.
          "SELECT reltuples, relpages FROM pg_class WHERE oid = (SELECT tableoid FROM events LIMIT 1)",
        );
        expect(rows[0].reltuples).toBe(500);
        expect(rows[0].relpages).toBeGreaterThan(0);
      } finally {
        await db.close();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
