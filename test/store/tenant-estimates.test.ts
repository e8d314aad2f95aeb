import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestStore, postgresReachable } from "../support/databases.ts";
import { type PlanNode, planNodes } from "../support/plan-nodes.ts";

/**
 * In a tenant's scope PostgreSQL counts the tenant once in its estimates: row-level security's
 * condition for chaukas_tenant is the equality alone, which joins the statement's own tenant
 * condition, so a small tenant's rows are not expected at their share of the table squared
 * (docs/adr/0040-tenant-isolation-by-role.md). Against a real PostgreSQL server.
 */

const requirePostgres = (await postgresReachable()) || Boolean(process.env.CI);
const T0 = 1_764_072_000_000_000_000n;

describe.runIf(requirePostgres)("estimates in a tenant's scope", () => {
  let close: () => Promise<void>;
  let client: pg.Client;

  /** The plan of `sql` as a request's transaction makes it: role chaukas_tenant, `tenant` set. */
  async function planInScope(tenant: string, sql: string): Promise<PlanNode> {
    await client.query("BEGIN; SET LOCAL ROLE chaukas_tenant");
    try {
      await client.query("SELECT set_config('chaukas.tenant_id', $1, true)", [tenant]);
      const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`);
      return rows[0]["QUERY PLAN"][0].Plan;
    } finally {
      await client.query("ROLLBACK");
    }
  }

  beforeAll(async () => {
    const migrated = await openTestStore("postgres");
    close = migrated.close;
    client = new pg.Client({ connectionString: migrated.url as string });
    await client.connect();
    // A big tenant of 20,000 events and a small one of 600, each of two types in turn, written
    // beneath the store (quicker), then analyzed.
    await client.query(`
      INSERT INTO events (tenant_id, event_id, project_id, session_id, type, status, severity, ts_ns, search, payload)
      SELECT CASE WHEN n <= 600 THEN 'small' ELSE 'big' END, 'e-' || n, 'web', 's-' || (n / 50), 20 + n % 2, 1, 2,
             ${T0} + n::bigint * 1000000, ''::tsvector, '\\x00'
      FROM generate_series(1, 20600) AS n`);
    await client.query("ANALYZE events");
  });

  afterAll(async () => {
    await client?.end();
    await close?.();
  });

  it("expect a small tenant's rows at their number, not at their share of it", async () => {
    const plan = await planInScope("small", "SELECT event_id FROM events WHERE tenant_id = 'small'");
    expect(plan["Actual Rows"]).toBe(600);
    // Counted twice, as by a policy whose equality is one side of an OR, they are expected at about 23.
    expect(plan["Plan Rows"]).toBeGreaterThan(300);
  });

  it("read a small tenant's page of one type through the type's index in time order, without sorting", async () => {
    const plan = await planInScope(
      "small",
      "SELECT event_id FROM events WHERE tenant_id = 'small' AND type = 21 ORDER BY ts_ns DESC, event_id DESC LIMIT 100",
    );
    expect(plan["Actual Rows"]).toBe(100);
    const nodes = planNodes(plan);
    expect(nodes.filter((node) => node["Node Type"].includes("Sort"))).toEqual([]);
    const typeScans = nodes.filter(
      (node) => /^Index (Only )?Scan$/.test(node["Node Type"]) && /\btype = 21\b/.test(node["Index Cond"] ?? ""),
    );
    expect(typeScans.map((node) => node["Scan Direction"])).toContain("Backward");
  });
});
