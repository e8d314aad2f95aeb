/** A node of an `EXPLAIN (FORMAT JSON)` plan, with the fields tests read. */
export interface PlanNode {
  "Node Type": string;
  "Plan Rows": number;
  "Actual Rows"?: number;
  "Scan Direction"?: string;
  "Index Cond"?: string;
  Plans?: PlanNode[];
}

/** Every node of a plan, the plan first. */
export function planNodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(planNodes)];
}
