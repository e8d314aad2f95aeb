import { create } from "@bufbuild/protobuf";
import { TimestampSchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { QueryRequestSchema, SortOrder } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { eventService } from "../../src/app.ts";
import { printVerification } from "../../src/cli/verify-command.ts";
import { UNRESTRICTED } from "../../src/core/access.ts";
import type { AuditTrail } from "../../src/core/audit/audit-trail.ts";
import { verifyDatabase } from "../../src/core/audit/database-verification.ts";
import { partitionJob } from "../../src/core/partition-job.ts";
import type { Database } from "../../src/store/database.ts";
import { SqlEventStore } from "../../src/store/sql/event-store.ts";
import { migrate } from "../../src/store/sql/migrate.ts";
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { embeddedPoolConfig } from "../../src/store/sql/pglite-connection.ts";
import { DEFAULT_EMBEDDED_CACHE_MB, pgliteOptions } from "../../src/store/sql/pglite-options.ts";
import { ALL_TENANTS } from "../../src/store/tenant-scope.ts";
import { testAuditTrail } from "../support/audit.ts";
import { createTestDatabase, type StoreKind, storeKinds } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";
import { MIGRATIONS, runMigrations } from "../support/migrations.ts";

/**
 * Events in monthly range partitions (the event-partitions migration, ADR 0024): the migration
 * keeps existing events where they are and as they answer, partitions are made ahead and only
 * once, each event lands in its month's partition or the default one, a resent id is stored once
 * whatever its time, and a month whose events already sit in the default partition is left there.
 */

const quiet = { info: () => {}, error: () => {} };
/** How many migrations the partitions migration and those after it are. */
const FROM_PARTITIONS = MIGRATIONS.length - MIGRATIONS.indexOf("1764220000000_event-partitions");

/** The first instant (UTC) of the month `offset` months from now. */
function monthStart(offset: number): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
}
/** The name of the partition of the month `offset` months from now. */
function partitionOf(offset: number): string {
  const start = monthStart(offset);
  return `events_${start.getUTCFullYear()}_${String(start.getUTCMonth() + 1).padStart(2, "0")}`;
}
/** An event time ten days into the month `offset` months from now. */
function inMonth(offset: number, second = 0) {
  return create(TimestampSchema, { seconds: BigInt(monthStart(offset).getTime() / 1000 + 10 * 86_400 + second) });
}

/** A migrated store, and statements beneath it as the schema's owner. */
interface Opened {
  store: Database;
  sql: Pick<pg.ClientBase, "query">;
  /** Undoes or applies the last migration, the event-partitions one. */
  /** Undoes or applies again the partitions migration and those after it. */
  migratePartitions: (direction: "up" | "down") => Promise<void>;
  close: () => Promise<void>;
}

async function open(kind: StoreKind): Promise<Opened> {
  if (kind === "embedded") {
    const db = await PGlite.create("memory://", pgliteOptions(DEFAULT_EMBEDDED_CACHE_MB));
    const pool = new pg.Pool(embeddedPoolConfig(db));
    await migrate(pool, quiet);
    // PGlite has one connection: a client is checked out only for a statement or a migration.
    const withClient = async <T>(body: (client: pg.PoolClient) => Promise<T>) => {
      const client = await pool.connect();
      try {
        return await body(client);
      } finally {
        client.release();
      }
    };
    return {
      store: new SqlEventStore(pool, { onClose: () => db.close() }),
      sql: {
        query: ((text: string, values?: unknown[]) =>
          withClient((c) => c.query(text, values))) as pg.ClientBase["query"],
      },
      migratePartitions: (direction) =>
        withClient(async (c) => void (await runMigrations(c as pg.Client, direction, FROM_PARTITIONS))),
      close: async () => {},
    };
  }
  const db = await createTestDatabase();
  const store = await openDatabase({ kind: "postgres", databaseUrl: db.url, poolSize: 2 }, quiet);
  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  return {
    store,
    sql,
    migratePartitions: async (direction) => void (await runMigrations(sql, direction, FROM_PARTITIONS)),
    close: async () => {
      await sql.end();
      await db.drop();
    },
  };
}

describe.each(await storeKinds())("events in monthly partitions on the %s store", (kind: StoreKind) => {
  let opened: Opened | undefined;
  afterEach(async () => {
    await opened?.store.close();
    await opened?.close();
    opened = undefined;
  });

  const partitions = async (sql: Opened["sql"]) =>
    (
      await sql.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'events'::regclass ORDER BY 1`,
      )
    ).rows.map((r) => r.name);
  /** Where each event of the tenant is stored, by id. */
  const placed = async (sql: Opened["sql"], tenantId: string) =>
    Object.fromEntries(
      (
        await sql.query<{ event_id: string; partition: string }>(
          "SELECT event_id, tableoid::regclass::text AS partition FROM events WHERE tenant_id = $1",
          [tenantId],
        )
      ).rows.map((r) => [r.event_id, r.partition]),
    );
  const ingest = (store: Database, tenantId: string, events: Parameters<typeof makeEvent>[0][]) =>
    eventService(store).ingestBatch(
      UNRESTRICTED,
      events.map((init) => makeEvent({ tenantId, ...init })),
    );
  const query = async (store: Database, tenantId: string, filter: object = {}) => {
    const page = await eventService(store).queryEvents(
      UNRESTRICTED,
      create(QueryRequestSchema, { filter: { tenantId, ...filter }, pageSize: 100, orderByTime: SortOrder.ASC }),
    );
    return page.events.map((e) => e.eventId);
  };
  const verify = async (store: Database, trail: AuditTrail, tenantId: string) => {
    const lines: string[] = [];
    const code = printVerification((await verifyDatabase(store, tenantId, trail.signer.verifierKey)).outcome(), (l) =>
      lines.push(l),
    );
    return { code, lines };
  };

  it("keeps the events stored before it where they are: same answers, proofs verify, no id stored twice", {
    timeout: 60_000,
  }, async () => {
    opened = await open(kind);
    const { store, sql } = opened;
    const trail = testAuditTrail(store);
    // Old events and this month's, logged; then the schema before partitions, with these rows in its
    // one table (the migration's down step).
    await ingest(store, "kept", [
      ...Array.from({ length: 12 }, (_, i) => ({ eventId: `old-${i}`, sessionId: `s-${i % 3}` })),
      ...Array.from({ length: 4 }, (_, i) => ({ eventId: `now-${i}`, sessionId: "s-now", timestamp: inMonth(0, i) })),
    ]);
    await trail.integrateAndSign();
    const thisMonth = { time: { start: timestampFromDate(monthStart(0)), end: timestampFromDate(monthStart(1)) } };
    const answers = async () => ({
      all: await query(store, "kept"),
      session: await query(store, "kept", { sessionId: "s-1" }),
      thisMonth: await query(store, "kept", thisMonth),
    });
    const before = await answers();
    expect(before.all).toHaveLength(16);
    expect(before.session).toEqual(["old-1", "old-4", "old-7", "old-10"]);
    expect(before.thisMonth).toEqual(["now-0", "now-1", "now-2", "now-3"]);
    // Undone and applied again (with the migrations after it, whose queries this code makes).
    await opened.migratePartitions("down");
    expect((await sql.query("SELECT relkind FROM pg_class WHERE relname = 'events'")).rows[0].relkind).toBe("r");

    await opened.migratePartitions("up");
    expect((await sql.query("SELECT relkind FROM pg_class WHERE relname = 'events'")).rows[0].relkind).toBe("p");
    // No row moved: each is in the table it was in, now the partition of everything before next month.
    const kept = `events_before_${partitionOf(1).slice("events_".length)}`;
    expect(await partitions(sql)).toEqual([partitionOf(1), partitionOf(2), kept, "events_default"].sort());
    expect(new Set(Object.values(await placed(sql, "kept")))).toEqual(new Set([kept]));
    expect((await sql.query("SELECT count(*)::int AS n FROM event_ids WHERE tenant_id = 'kept'")).rows[0].n).toBe(16);
    expect(await answers()).toEqual(before);
    expect(await verify(store, trail, "kept")).toMatchObject({ code: 0 });

    // Ingest goes on in the new schema: an old id resent with next month's time is a repeat.
    await ingest(store, "kept", [
      { eventId: "old-0", timestamp: inMonth(1) },
      { eventId: "next-0", timestamp: inMonth(1) },
    ]);
    await trail.integrateAndSign();
    expect(await placed(sql, "kept")).toMatchObject({ "old-0": kept, "now-0": kept, "next-0": partitionOf(1) });
    expect(await query(store, "kept")).toEqual([...before.all, "next-0"]);
    expect((await store.audit.head(ALL_TENANTS, "kept"))?.size).toBe(17n);
    expect(await verify(store, trail, "kept")).toMatchObject({ code: 0 });
  });

  it("creates the months ahead once, each with the table's indexes, triggers and storage", async () => {
    opened = await open(kind);
    const { store, sql } = opened;
    // The migration made next month's and the one after; this month is in events_before_<next month>.
    const made = await partitions(sql);
    expect(made).toEqual(expect.arrayContaining([partitionOf(1), partitionOf(2), "events_default"]));
    expect(await store.prepareEventPartitions()).toEqual([]);
    await sql.query(`DROP TABLE ${partitionOf(2)}`);
    expect(await store.prepareEventPartitions()).toEqual([{ name: partitionOf(2), created: true }]);
    expect(await store.prepareEventPartitions()).toEqual([]);
    expect(await partitions(sql)).toEqual(made);

    const { rows } = await sql.query<{ indexes: number; triggers: number; storage: string }>(
      `SELECT (SELECT count(*)::int FROM pg_index WHERE indrelid = $1::regclass) AS indexes,
              (SELECT count(*)::int FROM pg_trigger WHERE tgrelid = $1::regclass) AS triggers,
              (SELECT attstorage FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'payload') AS storage`,
      [partitionOf(2)],
    );
    const parentIndexes = (
      await sql.query("SELECT count(*)::int AS n FROM pg_index WHERE indrelid = 'events'::regclass")
    ).rows[0].n;
    expect(rows[0]).toEqual({ indexes: parentIndexes, triggers: 1, storage: "m" });
    // The write-once trigger refuses changes in the new partition as in the table.
    await ingest(store, "ahead", [{ eventId: "a-1", timestamp: inMonth(2) }]);
    await expect(sql.query(`DELETE FROM ${partitionOf(2)}`)).rejects.toThrow("events is append-only: DELETE refused");
  });

  it("stores each event in its month's partition, stray times in the default one, and a resent id once", async () => {
    opened = await open(kind);
    const { store, sql } = opened;
    const far = create(TimestampSchema, { seconds: 4_102_444_800n }); // 2100
    const outcome = await ingest(store, "placed", [
      { eventId: "old" },
      { eventId: "this", timestamp: inMonth(0) },
      { eventId: "next", timestamp: inMonth(1) },
      { eventId: "after", timestamp: inMonth(2) },
      { eventId: "far", timestamp: far },
    ]);
    expect(outcome).toEqual({ acceptedCount: 5, rejected: [] });
    const kept = `events_before_${partitionOf(1).slice("events_".length)}`;
    expect(await placed(sql, "placed")).toEqual({
      old: kept,
      this: kept,
      next: partitionOf(1),
      after: partitionOf(2),
      far: "events_default",
    });
    // Each id again, each with another partition's time: accepted as repeats, stored once.
    const again = await ingest(store, "placed", [
      { eventId: "old", timestamp: far },
      { eventId: "next", timestamp: inMonth(2) },
      { eventId: "far", timestamp: inMonth(1) },
    ]);
    expect(again).toEqual({ acceptedCount: 3, rejected: [] });
    expect(await placed(sql, "placed")).toMatchObject({ old: kept, next: partitionOf(1), far: "events_default" });
    expect(await query(store, "placed")).toEqual(["old", "this", "next", "after", "far"]);
    await testAuditTrail(store).integrateAndSign();
    expect((await store.audit.head(ALL_TENANTS, "placed"))?.size).toBe(5n);
  });

  it("leaves a month whose events are already in the default partition there, and makes the others", async () => {
    opened = await open(kind);
    const { store, sql } = opened;
    await ingest(store, "early", [{ eventId: "in-4", timestamp: inMonth(4) }]);
    expect(await placed(sql, "early")).toEqual({ "in-4": "events_default" });
    const prepare = async (monthsAhead: number) =>
      (
        await sql.query<{ partition_name: string; created: boolean }>(
          "SELECT partition_name, created FROM chaukas_prepare_event_partitions($1)",
          [monthsAhead],
        )
      ).rows;
    expect(await prepare(5)).toEqual([
      { partition_name: partitionOf(3), created: true },
      { partition_name: partitionOf(4), created: false },
      { partition_name: partitionOf(5), created: true },
    ]);
    // Tried again each time, and left alone each time; the event stays where it is and answers.
    expect(await prepare(5)).toEqual([{ partition_name: partitionOf(4), created: false }]);
    expect(await placed(sql, "early")).toEqual({ "in-4": "events_default" });
    expect(await query(store, "early")).toEqual(["in-4"]);
    await ingest(store, "early", [{ eventId: "in-5", timestamp: inMonth(5) }]);
    expect(await placed(sql, "early")).toMatchObject({ "in-5": partitionOf(5) });

    // The server's job says so: next month after next is missing, and an event of it came first.
    await sql.query(`DROP TABLE ${partitionOf(2)}`);
    await ingest(store, "early", [{ eventId: "in-2", timestamp: inMonth(2) }]);
    const warnings: object[] = [];
    const job = partitionJob(store, {
      info: () => {},
      warn: (obj) => warnings.push(obj),
      error: (obj) => warnings.push(obj),
    });
    job.start();
    while (warnings.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await job.stop();
    expect(warnings).toEqual([{ partition: partitionOf(2) }]);
  });
});
