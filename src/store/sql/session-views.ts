import type pg from "pg";
import type {
  EventFilter,
  SessionFigures,
  SessionQuery,
  UsageFigures,
  UsageKeyFigures,
  UsageQuery,
} from "../event-store.ts";
import { hasAttributeConditions, WhereBuilder } from "./event-filter.ts";

/**
 * ListSessions and GetUsage from the usage rollups (usage-rollup.ts). Both run on a client already
 * in the tenant's scope.
 */

/** The filters that look at single events; the others (tenant, project, session, time) at the session row. */
const hasEventConditions = (f: EventFilter) => Boolean(f.traceId) || hasAttributeConditions(f);

/**
 * A page of sessions, newest first. Event conditions select sessions with at least one matching
 * event, through QueryEvents' own filter SQL in an EXISTS, so the planner may walk the sessions in
 * order and probe each (a common condition) or collect the matching events first (a rare one).
 */
export async function selectSessions(client: pg.ClientBase, query: SessionQuery): Promise<SessionFigures[]> {
  const { filter } = query;
  const session = new WhereBuilder(undefined);
  session.add(`s.tenant_id = ${session.param(filter.tenantId)}`);
  if (filter.projectId) session.add(`s.project_id = ${session.param(filter.projectId)}`);
  if (filter.sessionId) session.add(`s.session_id = ${session.param(filter.sessionId)}`);
  if (filter.startNs !== undefined) session.add(`s.start_ns >= ${session.param(String(filter.startNs))}::bigint`);
  if (filter.endNs !== undefined) session.add(`s.start_ns < ${session.param(String(filter.endNs))}::bigint`);
  if (query.after) {
    const { startNs, projectId, sessionId } = query.after;
    session.add(
      `(s.start_ns, s.project_id, s.session_id) < (${session.param(String(startNs))}::bigint, ${session.param(projectId)}, ${session.param(sessionId)})`,
    );
  }
  if (hasEventConditions(filter)) {
    // Unqualified columns in the subquery are those of `events`.
    const events = new WhereBuilder({ ...filter, startNs: undefined, endNs: undefined }, session.values);
    session.add(`EXISTS (SELECT 1 FROM events WHERE ${events.sql()}
      AND events.project_id = s.project_id AND events.session_id = s.session_id)`);
  }
  const limit = session.param(query.limit);
  const { rows } = await client.query<SessionRow>(
    `SELECT s.tenant_id, s.project_id, s.session_id, s.start_ns, s.end_ns, s.events, s.agents,
            greatest(s.model_starts, s.model_ends) AS model_calls,
            greatest(s.tool_starts, s.tool_ends) + greatest(s.mcp_starts, s.mcp_ends) AS tool_calls,
            s.total_tokens, s.cost, s.errors, s.max_severity, coalesce(s.end_status, s.last_status) AS status
     FROM stats_session_usage s WHERE ${session.sql()}
     ORDER BY s.start_ns DESC, s.project_id DESC, s.session_id DESC LIMIT ${limit}`,
    session.values,
  );
  return rows.map((row) => ({
    tenantId: row.tenant_id,
    projectId: row.project_id,
    sessionId: row.session_id,
    startNs: BigInt(row.start_ns),
    endNs: BigInt(row.end_ns),
    events: BigInt(row.events),
    agents: row.agents,
    modelCalls: BigInt(row.model_calls),
    toolCalls: BigInt(row.tool_calls),
    totalTokens: BigInt(row.total_tokens),
    totalCost: Number(row.cost),
    errors: BigInt(row.errors),
    maxSeverity: row.max_severity,
    status: row.status,
  }));
}

interface SessionRow {
  tenant_id: string;
  project_id: string;
  session_id: string;
  start_ns: string;
  end_ns: string;
  events: string;
  agents: string[];
  model_calls: string;
  tool_calls: string;
  total_tokens: string;
  cost: number;
  errors: string;
  max_severity: number;
  status: number;
}

const NS_PER_S = 1_000_000_000n;

/**
 * Usage over [startNs, endNs) per bucket, model and agent, in one statement: the hourly rollup when
 * buckets are whole hours, else the minutely one, plus the events still queued; and the sessions
 * that started in each bucket.
 */
export async function selectUsage(client: pg.ClientBase, query: UsageQuery): Promise<UsageFigures> {
  const [table, column, unitSeconds] =
    query.bucketSeconds % 3600 === 0 ? ["stats_usage_hourly", "hour", 3600] : ["stats_usage_minutely", "minute", 60];
  const p = new WhereBuilder(undefined);
  const tenant = p.param(query.tenantId);
  const scope = query.projectId
    ? `tenant_id = ${tenant} AND project_id = ${p.param(query.projectId)}`
    : `tenant_id = ${tenant}`;
  const startNs = `${p.param(String(query.startNs))}::bigint`;
  const endNs = `${p.param(String(query.endNs))}::bigint`;
  const bucketNs = `${p.param(String(BigInt(query.bucketSeconds) * NS_PER_S))}::bigint`;
  const unitNs = `${BigInt(unitSeconds) * NS_PER_S}::bigint`;
  const { rows } = await client.query<UsageRow>(
    `WITH parts AS (
       SELECT ${column}::bigint * ${unitNs} AS at_ns, model, agent, events, errors, model_starts, model_ends,
              input_tokens, output_tokens, total_tokens, cost
       FROM ${table}
       WHERE ${scope} AND ${column} >= ${startNs} / ${unitNs} AND ${column} < ${endNs} / ${unitNs}
       UNION ALL
       -- Not yet rolled up: the integrator takes them within an interval.
       SELECT ts_ns, model, agent, 1, CASE WHEN type = 40 OR status = 4 OR severity = 4 THEN 1 ELSE 0 END,
              CASE WHEN type = 20 THEN 1 ELSE 0 END, CASE WHEN type = 21 THEN 1 ELSE 0 END,
              input_tokens, output_tokens, total_tokens, cost
       FROM ingest_queue WHERE ${scope} AND in_usage AND ts_ns >= ${startNs} AND ts_ns < ${endNs}
     ), figures AS (
       SELECT (at_ns - ${startNs}) / ${bucketNs} AS bucket, model, agent, events, errors,
              model_starts, model_ends, input_tokens, output_tokens, total_tokens, cost, 0 AS sessions
       FROM parts
       UNION ALL
       SELECT (start_ns - ${startNs}) / ${bucketNs}, NULL, NULL, 0, 0, 0, 0, 0, 0, 0, 0, count(*)
       FROM stats_session_usage WHERE ${scope} AND start_ns >= ${startNs} AND start_ns < ${endNs}
       GROUP BY 1
     )
     SELECT GROUPING(bucket, model, agent) AS grouping, bucket, model, agent,
            sum(events)::text AS events, sum(errors)::text AS errors,
            greatest(sum(model_starts), sum(model_ends))::text AS calls,
            sum(input_tokens)::text AS input_tokens, sum(output_tokens)::text AS output_tokens,
            sum(total_tokens)::text AS total_tokens, sum(cost)::float8 AS cost, sum(sessions)::text AS sessions
     FROM figures GROUP BY GROUPING SETS ((bucket), (model), (agent))`,
    p.values,
  );
  const bucketCount = Number((query.endNs - query.startNs) / (BigInt(query.bucketSeconds) * NS_PER_S));
  const buckets = Array.from({ length: bucketCount }, () => ({
    events: 0n,
    errors: 0n,
    totalTokens: 0n,
    totalCost: 0,
    sessionsStarted: 0n,
  }));
  const byModel = new Map<string, UsageKeyFigures>();
  const byAgent = new Map<string, UsageKeyFigures>();
  for (const row of rows) {
    if (row.grouping === BY_BUCKET) {
      buckets[Number(row.bucket)] = {
        events: BigInt(row.events),
        errors: BigInt(row.errors),
        totalTokens: BigInt(row.total_tokens),
        totalCost: row.cost,
        sessionsStarted: BigInt(row.sessions),
      };
      continue;
    }
    // Session counts carry no model or agent: their NULL key is not a model's or agent's.
    const key = row.grouping === BY_MODEL ? row.model : row.agent;
    if (!key) continue;
    (row.grouping === BY_MODEL ? byModel : byAgent).set(key, {
      calls: BigInt(row.calls),
      inputTokens: BigInt(row.input_tokens),
      outputTokens: BigInt(row.output_tokens),
      totalTokens: BigInt(row.total_tokens),
      totalCost: row.cost,
      errors: BigInt(row.errors),
    });
  }
  return { buckets, byModel, byAgent };
}

/** GROUPING(bucket, model, agent): a bit per column left out of the row's grouping set. */
const BY_BUCKET = 0b011;
const BY_MODEL = 0b101;

interface UsageRow {
  grouping: number;
  bucket: string | null;
  model: string | null;
  agent: string | null;
  events: string;
  errors: string;
  calls: string;
  input_tokens: string;
  output_tokens: string;
  total_tokens: string;
  cost: number;
  sessions: string;
}
