import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TailPosition } from "../../src/store/event-store.ts";
import type { RowFields } from "../../src/store/sql/binary-rows.ts";
import { SqlEventStore } from "../../src/store/sql/event-store.ts";
import { rowsInTenantScope } from "../../src/store/sql/pool.ts";
import { oneConnectionPool, openTestStore, postgresReachable } from "../support/databases.ts";
import { explainKeptPlan, nodeTypes, type PlanNode, planNodes } from "../support/plan-nodes.ts";
import { eventRecord } from "../support/records.ts";

/**
 * A tail read walks the tail-order index from its position and stops at its LIMIT, however many
 * events wait behind the position and however stale PostgreSQL's statistics are
 * (docs/adr/0042-tail-reads-in-index-order.md). Against a real PostgreSQL server, through the
 * store's own statements on a pool of one connection.
 */

const requirePostgres = (await postgresReachable()) || Boolean(process.env.CI);
const T0 = 1_764_072_000_000_000_000n;
const TENANT = "tail-plan";
const PAGE = 100;
const START: TailPosition = { xid: 0n, eventId: "" };

/** Batch `b`'s `count` events; ids sort in insert order, so (xid, id) order is insert order. */
function batch(b: number, count: number) {
  return Array.from({ length: count }, (_, i) =>
    eventRecord({
      tenantId: TENANT,
      eventId: `b${String(b).padStart(2, "0")}-${String(i).padStart(4, "0")}`,
      timestampNs: T0 + BigInt(b * 10_000 + i),
    }),
  );
}

describe.runIf(requirePostgres)("tail reads", () => {
  let closeMigrated: () => Promise<void>;
  let pool: pg.Pool;
  let store: SqlEventStore;
  const scope = { tenantId: TENANT };
  const read = (after: TailPosition, limit = PAGE) => store.readTail(scope, { tenantId: TENANT }, after, limit);
  /** Where the backlog starts: after the events PostgreSQL's statistics know of. */
  let backlogStart: TailPosition;
  const backlog = Array.from({ length: 6 }, (_, b) => batch(b + 1, 500)).flat();

  beforeAll(async () => {
    const migrated = await openTestStore("postgres");
    closeMigrated = migrated.close;
    pool = oneConnectionPool(migrated.url as string);
    store = new SqlEventStore(pool);
    await store.insertEvents(scope, batch(0, 10));
    await pool.query("ANALYZE events");
    const first = await read(START);
    expect(first.events).toHaveLength(10);
    backlogStart = first.events[9].position;
    // A backlog in six transactions, which the statistics do not know of: PostgreSQL expects
    // about no row after backlogStart.
    for (let b = 0; b < 6; b++) await store.insertEvents(scope, backlog.slice(b * 500, (b + 1) * 500));
  });

  /** The tail read's prepared statement after enough reads for a generic plan, and its uses. */
  const keptTailRead = async () => {
    for (let i = 0; i < 6; i++) expect((await read(backlogStart)).events).toHaveLength(PAGE);
    const { rows } = await pool.query<{ name: string; generic: string }>(
      "SELECT name, generic_plans::text AS generic FROM pg_prepared_statements WHERE statement LIKE '%stored_xid < h.horizon%'",
    );
    expect(rows).toHaveLength(1);
    return { name: rows[0].name, generic: Number(rows[0].generic) };
  };
  const executeFromBacklogStart = (name: string) =>
    `EXECUTE "${name}"('${TENANT}', '${backlogStart.xid}', '${backlogStart.eventId}', ${PAGE})`;

  afterAll(async () => {
    await store?.close(); // ends the pool
    await closeMigrated?.();
  });

  it("read a backlog page by page, in order, each page from where the last ended", async () => {
    const seen: string[] = [];
    let after = backlogStart;
    for (;;) {
      const { events } = await read(after);
      if (events.length === 0) break;
      expect(events.length).toBeLessThanOrEqual(PAGE);
      seen.push(...events.map((event) => event.position.eventId));
      after = events[events.length - 1].position;
    }
    expect(seen).toEqual(backlog.map((record) => record.eventId));
  });

  it("keep a plan that reads a page's rows, not the backlog, and does not sort beneath the LIMIT", async () => {
    const { name, generic } = await keptTailRead();
    expect(generic).toBeGreaterThan(0);
    // The plan kept, as the read's transaction sees it (same role, same tenant, sorts and JIT off).
    const plan = await explainKeptPlan(pool, TENANT, executeFromBacklogStart(name), { analyze: true });
    const limit = planNodes(plan).find((node) => node["Node Type"] === "Limit") as PlanNode;
    const beneath = planNodes(limit);
    expect(nodeTypes(limit)).not.toContain("Sort");
    expect(limit["Actual Rows"]).toBe(PAGE);
    const scans = beneath.filter((node) => node["Node Type"].includes("Index Scan"));
    expect(scans.length).toBeGreaterThan(0);
    for (const scan of scans) {
      // Each scan stops at the page (a plan that sorted read all 3,000 rows behind the position),
      // and at the horizon: it is a condition of the scan, not a filter on the rows it returns.
      expect(scan["Actual Rows"], scan["Node Type"]).toBeLessThanOrEqual(PAGE + 1);
      expect(scan["Index Cond"]).toMatch(/stored_xid < pg_snapshot_xmin/);
    }
  });

  it("run kept plans with JIT off, which the cost of a disabled sort would otherwise start", async () => {
    const outside = (await pool.query("SHOW jit")).rows[0].jit;
    const settings = (row: RowFields) => ({ sort: row.text(), jit: row.text(), above: Number(row.text()) });
    const [kept] = await rowsInTenantScope(
      pool,
      scope,
      "SELECT current_setting('enable_sort'), current_setting('jit'), current_setting('jit_above_cost')",
      [],
      settings,
      { keptPlan: true },
    );
    expect(kept).toMatchObject({ sort: "off", jit: "off" });
    // With sorts off, the tail read's plan still sorts (the page after the horizon's row), so its
    // cost is past the threshold at which PostgreSQL compiles a plan.
    const plan = await explainKeptPlan(pool, TENANT, executeFromBacklogStart((await keptTailRead()).name));
    expect(plan["Total Cost"]).toBeGreaterThan(kept.above);
    // The settings end with the read's transaction.
    expect((await pool.query("SHOW jit")).rows[0].jit).toBe(outside);
  });
});
