import type pg from "pg";

/** A node of an `EXPLAIN (FORMAT JSON)` plan, with the fields tests read. */
export interface PlanNode {
  "Node Type": string;
  "Plan Rows": number;
  "Actual Rows"?: number;
  "Scan Direction"?: string;
  "Index Cond"?: string;
  "Total Cost": number;
  Plans?: PlanNode[];
}

/** Every node of a plan, the plan first. */
export function planNodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(planNodes)];
}

/** Every node type of a plan. */
export const nodeTypes = (plan: PlanNode): string[] => planNodes(plan).map((node) => node["Node Type"]);

/**
 * `EXPLAIN (FORMAT JSON)` of `statement` (with ANALYZE if asked) in a transaction like a kept
 * plan's (src/store/sql/pool.ts): role chaukas_tenant, the tenant's setting, sorts and JIT off.
 * Rolled back; the plan's top node.
 */
export async function explainKeptPlan(
  pool: pg.Pool,
  tenantId: string,
  statement: string,
  options: { analyze?: boolean } = {},
): Promise<PlanNode> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN; SET LOCAL ROLE chaukas_tenant; SET LOCAL enable_sort = off; SET LOCAL jit = off");
    await client.query("SELECT set_config('chaukas.tenant_id', $1, true)", [tenantId]);
    const { rows } = await client.query(`EXPLAIN (${options.analyze ? "ANALYZE, " : ""}FORMAT JSON) ${statement}`);
    return rows[0]["QUERY PLAN"][0].Plan;
  } finally {
    await client.query("ROLLBACK");
    client.release();
  }
}
