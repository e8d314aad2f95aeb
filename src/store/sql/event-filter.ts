import type { EventFilter } from "../event-store.ts";
import { withoutNul } from "./event-columns.ts";

/**
 * A parameterised WHERE clause: an EventFilter's conditions on the columns of `events`, and any
 * added. Builders that share `values` make parts of one statement (session-views.ts).
 */
export class WhereBuilder {
  readonly values: unknown[];
  readonly #conditions: string[] = [];

  constructor(filter: EventFilter | undefined, values: unknown[] = []) {
    this.values = values;
    if (filter) this.#filter(filter);
  }

  #filter(filter: EventFilter): void {
    this.add(`tenant_id = ${this.param(filter.tenantId)}`);
    this.#equals("project_id", filter.projectId);
    this.#equals("session_id", filter.sessionId);
    this.#equals("agent_id", filter.agentId);
    this.#equals("span_id", filter.spanId);
    this.#equals("trace_id", filter.traceId);
    this.#anyOf("type", filter.types);
    this.#anyOf("status", filter.statuses);
    this.#anyOf("severity", filter.severities);
    if (filter.tags?.length) this.add(`tags @> ${this.param(filter.tags)}::text[]`);
    if (filter.textQuery) {
      this.add(`search @@ websearch_to_tsquery('simple', ${this.param(withoutNul(filter.textQuery))})`);
    }
    if (filter.startNs !== undefined) this.add(`ts_ns >= ${this.param(filter.startNs.toString())}::bigint`);
    if (filter.endNs !== undefined) this.add(`ts_ns < ${this.param(filter.endNs.toString())}::bigint`);
  }

  /** A placeholder for `value`. */
  param(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  add(condition: string): void {
    this.#conditions.push(condition);
  }

  /** The conditions ANDed; TRUE for none. */
  sql(): string {
    return this.#conditions.length === 0 ? "TRUE" : this.#conditions.join(" AND ");
  }

  #equals(column: string, value: string | undefined): void {
    if (value) this.add(`${column} = ${this.param(value)}`);
  }

  #anyOf(column: string, values: number[] | undefined): void {
    // A single value is written as `=` so the planner can match the partial indexes.
    if (values?.length === 1) this.add(`${column} = ${this.param(values[0])}`);
    else if (values?.length) this.add(`${column} = ANY(${this.param(values)}::int2[])`);
  }
}

/**
 * Whether the filter has a condition on an event's own attributes: its agent, span, type, status,
 * severity, tags or text. The others (tenant, project, session, trace, time) name where the event
 * belongs.
 */
export function hasAttributeConditions(filter: EventFilter): boolean {
  return Boolean(
    filter.agentId ||
      filter.spanId ||
      filter.textQuery ||
      filter.types?.length ||
      filter.statuses?.length ||
      filter.severities?.length ||
      filter.tags?.length,
  );
}

/**
 * Whether one plan that reads one index in time order is the best plan for the filter's pages
 * whatever its values, so the page may keep it (rowsInTenantScope's `keptPlan`): a session or a
 * trace and, besides, at most a project and a time range (the session's or the trace's index), or
 * one event type and at most a time range (`events_type_time`: tenant, type, time). Each index
 * holds exactly the filter's rows in the page's order, so reading it stops at the LIMIT whatever
 * the number of rows. Any other condition can be found faster through its own index when its rows
 * are few, and only a plan for the values knows when
 * (docs/adr/0039-kept-plans-for-sessions-and-traces.md, docs/adr/0048-kept-plans-for-one-event-type.md).
 */
export function readsInIndexOrder(filter: EventFilter): boolean {
  if (filter.sessionId || filter.traceId) return !hasAttributeConditions(filter);
  const { types, ...rest } = filter;
  return types?.length === 1 && !filter.projectId && !hasAttributeConditions(rest);
}
