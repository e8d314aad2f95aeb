import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventFilter, EventRecord } from "../../src/store/event-store.ts";
import { SqlEventStore } from "../../src/store/sql/event-store.ts";
import { CountingRelay } from "../support/counting-relay.ts";
import { oneConnectionPool, openTestStore, postgresReachable } from "../support/databases.ts";
import { explainKeptPlan, nodeTypes, planNodes } from "../support/plan-nodes.ts";
import { eventRecord } from "../support/records.ts";

/**
 * A page of a session, a trace or one event type keeps one plan per connection, and that plan
 * reads its index in time order, whatever the number of rows
 * (docs/adr/0039-kept-plans-for-sessions-and-traces.md,
 * docs/adr/0048-kept-plans-for-one-event-type.md). Against a real PostgreSQL server, through
 * the store's own statements on a pool of one connection.
 */

const requirePostgres = (await postgresReachable()) || Boolean(process.env.CI);
const T0 = 1_764_072_000_000_000_000n;
const TENANT = "kept";

/** `count` events of one session (and trace), a nanosecond apart. */
function sessionEvents(sessionId: string, count: number): EventRecord[] {
  return Array.from({ length: count }, (_, i) =>
    eventRecord({
      tenantId: TENANT,
      eventId: `${sessionId}-${String(i).padStart(5, "0")}`,
      sessionId,
      traceId: `trace-of-${sessionId}`,
      spanId: `span-of-${sessionId}`,
      timestampNs: T0 + BigInt(i),
      searchText: "refund",
    }),
  );
}

/** Three events of another type and project than the sessions', after the sessions' first five. */
const toolEnds = Array.from({ length: 3 }, (_, i) =>
  eventRecord({
    tenantId: TENANT,
    eventId: `tool-${i}`,
    projectId: "api",
    type: 21,
    timestampNs: T0 + 10n + BigInt(i),
  }),
);
const ids = (records: EventRecord[]) => records.map((record) => record.eventId);
/** The tenant's first ten events, all of type 10: the two sessions' first five, a pair at each time. */
const firstTen = ids(sessionEvents("big", 5).flatMap((record, i) => [record, sessionEvents("small", 5)[i]]));
const day = { startNs: T0, endNs: T0 + 1_000n };
const described = (filter: object) => JSON.stringify(filter, (_, v) => (typeof v === "bigint" ? String(v) : v));

describe.runIf(requirePostgres)("kept plans", () => {
  let closeMigrated: () => Promise<void>;
  let relay: CountingRelay;
  let pool: pg.Pool;
  let store: SqlEventStore;
  const scope = { tenantId: TENANT };
  const page = (filter: Omit<EventFilter, "tenantId">, limit = 10) =>
    store.queryEvents(scope, { filter: { tenantId: TENANT, ...filter }, ascending: true, limit });

  beforeAll(async () => {
    const migrated = await openTestStore("postgres");
    closeMigrated = migrated.close;
    const relayed = await CountingRelay.inFrontOf(migrated.url as string);
    relay = relayed.relay;
    pool = oneConnectionPool(relayed.url as string);
    store = new SqlEventStore(pool);
    const big = sessionEvents("big", 3_000);
    for (let i = 0; i < big.length; i += 500) await store.insertEvents(scope, big.slice(i, i + 500));
    await store.insertEvents(scope, sessionEvents("small", 5));
    await store.insertEvents(scope, toolEnds);
    // Other tenants' many short sessions, as a deployment has (written beneath the store, which is
    // quicker): PostgreSQL then expects a session to hold about one event, and a plan made for that
    // would sort the big session's 3,000.
    await pool.query(`
      INSERT INTO events (tenant_id, event_id, project_id, session_id, type, status, severity, ts_ns, search, payload)
      SELECT 'other-' || (n % 20), 'o-' || n, 'web', 's-' || n, 10, 1, 2, ${T0} + n, ''::tsvector, '\\x00'
      FROM generate_series(1, 20000) AS n`);
    await pool.query("ANALYZE events");
  });

  afterAll(async () => {
    await store?.close(); // ends the pool
    await relay?.close();
    await closeMigrated?.();
  });

  it("send the text of a page read in one index's order once per connection, other pages' each time", async () => {
    /** What the client sent for each of three pages, each checked against `expected`. */
    const sentFor = async (filter: Omit<EventFilter, "tenantId">, expected: string[]) => {
      const sent: number[] = [];
      for (let i = 0; i < 3; i++) {
        relay.reset();
        expect((await page(filter)).map((event) => event.eventId)).toEqual(expected);
        sent.push(relay.bytesFromClient);
      }
      return sent;
    };
    const small = ids(sessionEvents("small", 5));
    // The page's statement is about 800 bytes of text.
    const kept: [Omit<EventFilter, "tenantId">, string[]][] = [
      [{ sessionId: "small" }, small],
      [{ traceId: "trace-of-small" }, small],
      [{ sessionId: "small", projectId: "web", ...day }, small],
      [{ types: [21] }, ids(toolEnds)],
      [{ types: [21], ...day }, ids(toolEnds)],
    ];
    for (const [filter, expected] of kept) {
      const sent = await sentFor(filter, expected);
      expect(sent[1], described(filter)).toBeLessThan(sent[0] - 500);
      expect(sent[2]).toBe(sent[1]);
    }
    const plannedEachTime: [Omit<EventFilter, "tenantId">, string[]][] = [
      [{ sessionId: "small", textQuery: "refund" }, small],
      [{ sessionId: "small", spanId: "span-of-small" }, small],
      [{ sessionId: "small", types: [10] }, small],
      [{ traceId: "trace-of-small", statuses: [1] }, small],
      [{ types: [10, 21] }, firstTen],
      [{ types: [21], projectId: "api" }, ids(toolEnds)],
      [{ types: [21], statuses: [1] }, ids(toolEnds)],
      [{ projectId: "api" }, ids(toolEnds)],
      [{}, firstTen],
      [day, firstTen],
    ];
    for (const [filter, expected] of plannedEachTime) {
      const sent = await sentFor(filter, expected);
      expect(sent[1], described(filter)).toBe(sent[0]);
      expect(sent[2]).toBe(sent[0]);
    }
  });

  it("keep a generic plan that reads a large session in time order, without sorting it", async () => {
    const expected = sessionEvents("big", 3_000).map((record) => record.eventId);
    for (let i = 0; i < 8; i++) {
      const events = await page({ sessionId: i % 2 ? "big" : "small" });
      expect(events.map((event) => event.eventId)).toEqual(
        i % 2 ? expected.slice(0, 10) : sessionEvents("small", 5).map((record) => record.eventId),
      );
    }
    const { rows: prepared } = await pool.query<{ name: string; generic: string }>(
      "SELECT name, generic_plans::text AS generic FROM pg_prepared_statements WHERE name LIKE 'kept-plan-%' AND statement LIKE '%session_id = $2%'",
    );
    expect(prepared).toHaveLength(1);
    expect(Number(prepared[0].generic)).toBeGreaterThan(0);

    // The plan kept, as the page's transaction sees it (same role, same tenant).
    const plan = await explainKeptPlan(pool, TENANT, `EXECUTE "${prepared[0].name}"('${TENANT}', 'big', 10)`);
    const types = nodeTypes(plan);
    expect(types).not.toContain("Sort");
    expect(types).toContain("Limit");
    // What EXPLAIN showed is the generic plan: it counted one more use of it.
    const { rows: after } = await pool.query<{ generic: string }>(
      "SELECT generic_plans::text AS generic FROM pg_prepared_statements WHERE name = $1",
      [prepared[0].name],
    );
    expect(Number(after[0].generic)).toBe(Number(prepared[0].generic) + 1);
    // The setting ends with the page's transaction.
    expect((await pool.query("SHOW enable_sort")).rows[0].enable_sort).toBe("on");
  });

  it("read one type's index in time order, without sorting, in the plan made for any value", async () => {
    expect((await page({ types: [10] })).map((event) => event.eventId)).toEqual(firstTen);
    expect((await page({ types: [10], ...day })).map((event) => event.eventId)).toEqual(firstTen);
    const { rows: prepared } = await pool.query<{ name: string; statement: string }>(
      "SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'kept-plan-%' AND statement ~ 'type = \\$2[^,]*\\s+ORDER BY'",
    );
    expect(prepared).toHaveLength(2);
    // PostgreSQL keeps that plan once it costs no more than the plans for the values (which a
    // generic LIMIT's estimate can prevent); kept, it must still stop at the LIMIT.
    await pool.query("SET plan_cache_mode = force_generic_plan");
    try {
      for (const { name, statement } of prepared) {
        const values = statement.includes("ts_ns >=") ? `10, ${day.startNs}, ${day.endNs}, 10` : "10, 10";
        const plan = await explainKeptPlan(pool, TENANT, `EXECUTE "${name}"('${TENANT}', ${values})`);
        expect(nodeTypes(plan), statement).not.toContain("Sort");
        expect(nodeTypes(plan)).toContain("Limit");
        expect(planNodes(plan).some((node) => node["Index Cond"]?.includes("type ="))).toBe(true);
      }
    } finally {
      await pool.query("RESET plan_cache_mode");
    }
  });
});
