import { fromBinary } from "@bufbuild/protobuf";
import type pg from "pg";
import { EventSchema } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { type EventUsage, eventUsage, NO_USAGE } from "../../codec/event-usage.ts";
import { BinaryArrays } from "./binary-arrays.ts";
import { withoutNul } from "./event-columns.ts";

/**
 * The rollups of the session and usage views (migration session-and-usage-views): one row per
 * session and project (stats_session_usage), and figures per minute and per hour, project, model
 * and agent (stats_usage_minutely, stats_usage_hourly). The integrator adds events to them in the
 * transaction that takes them off the queue (USAGE_ROLLUP inside TAKE_QUEUED_AND_ROLL_UP), and
 * events stored before the migration from their payloads (rollUpBackfill).
 */

const SESSION_END = 2;
const MODEL_START = 20;
const MODEL_END = 21;
const TOOL_START = 22;
const TOOL_END = 23;
const MCP_START = 24;
const MCP_END = 25;
const ERROR = 40;
const FAILED = 4;
const SEVERITY_ERROR = 4;
/** How many agent names a session row keeps. */
export const MAX_SESSION_AGENTS = 20;

/** The queue's usage columns, in this order, as ingest writes them (see INSERT_EVENTS_AND_QUEUE). */
export const USAGE_COLUMNS = ["agent", "model", "input_tokens", "output_tokens", "total_tokens", "cost"] as const;
/** unnest() types of USAGE_COLUMNS, from parameter `first` on. */
export const usageParameterTypes = (first: number) =>
  ["text", "text", "int8", "int8", "int8", "float8"].map((type, i) => `$${first + i}::${type}[]`).join(", ");

/** Adds the arrays of USAGE_COLUMNS' parameters. */
export function addUsageArrays(arrays: BinaryArrays, usages: readonly EventUsage[]): BinaryArrays {
  return arrays
    .text(usages.map((u) => withoutNul(u.agent)))
    .text(usages.map((u) => withoutNul(u.model)))
    .int8(usages.map((u) => u.inputTokens))
    .int8(usages.map((u) => u.outputTokens))
    .int8(usages.map((u) => u.totalTokens))
    .float8(usages.map((u) => u.cost));
}

/** A model, tool or MCP call counts once: by its START, else by its END (the larger count of the two). */
const countOf = (type: number) => `count(*) FILTER (WHERE type = ${type})`;
const FIGURES = [
  "events",
  "errors",
  "model_starts",
  "model_ends",
  "input_tokens",
  "output_tokens",
  "total_tokens",
  "cost",
];

/** Adds `usage_rows` to the per-minute or per-hour table. */
const timeRollup = (name: string, table: string, column: string, unit: string) => `
${name} AS (
  INSERT INTO ${table} AS s (tenant_id, ${column}, project_id, model, agent, ${FIGURES.join(", ")})
  SELECT tenant_id, ${unit}(ts_ns), project_id, model, agent, count(*), count(*) FILTER (WHERE is_error),
         ${countOf(MODEL_START)}, ${countOf(MODEL_END)},
         sum(input_tokens), sum(output_tokens), sum(total_tokens), sum(cost)
  FROM usage_rows GROUP BY 1, 2, 3, 4, 5
  ON CONFLICT (tenant_id, ${column}, project_id, model, agent) DO UPDATE
  SET ${FIGURES.map((f) => `${f} = s.${f} + excluded.${f}`).join(", ")}
)`;

/** The latest of `value` by (ts_ns, event_id), among the rows that pass `filter`. */
const latest = (value: string, filter = "") =>
  `(array_agg(${value} ORDER BY ts_ns DESC, event_id DESC)${filter ? ` FILTER (WHERE ${filter})` : ""})[1]`;
const newer = (ns: string, id: string) => `(excluded.${ns}, excluded.${id}) > (s.${ns}, s.${id})`;

/**
 * CTEs that add the rows of `source` (tenant_id, event_id, project_id, session_id, type, status,
 * severity, ts_ns and USAGE_COLUMNS) to every usage rollup; to be placed in a WITH list.
 */
export const usageRollup = (source: string) => `
usage_rows AS (
  SELECT tenant_id, event_id COLLATE "C" AS event_id, project_id, session_id, type, status, severity, ts_ns,
         agent COLLATE "C" AS agent, model COLLATE "C" AS model, input_tokens, output_tokens, total_tokens, cost,
         (type = ${ERROR} OR status = ${FAILED} OR severity = ${SEVERITY_ERROR}) AS is_error
  FROM ${source}
), session_usage AS (
  INSERT INTO stats_session_usage AS s (tenant_id, project_id, session_id, start_ns, end_ns, events,
    model_starts, model_ends, tool_starts, tool_ends, mcp_starts, mcp_ends, total_tokens, cost, errors,
    max_severity, last_ns, last_event_id, last_status, end_event_ns, end_event_id, end_status, agents)
  SELECT tenant_id, project_id, session_id, min(ts_ns), max(ts_ns), count(*),
         ${[MODEL_START, MODEL_END, TOOL_START, TOOL_END, MCP_START, MCP_END].map(countOf).join(", ")},
         sum(total_tokens), sum(cost), count(*) FILTER (WHERE is_error), max(severity),
         ${latest("ts_ns")}, ${latest("event_id")}, ${latest("status")},
         ${latest("ts_ns", `type = ${SESSION_END}`)}, ${latest("event_id", `type = ${SESSION_END}`)},
         ${latest("status", `type = ${SESSION_END}`)},
         coalesce((array_agg(DISTINCT agent ORDER BY agent) FILTER (WHERE agent <> ''))[1:${MAX_SESSION_AGENTS}], '{}')
  FROM usage_rows GROUP BY 1, 2, 3
  ON CONFLICT (tenant_id, project_id, session_id) DO UPDATE
  SET start_ns = least(s.start_ns, excluded.start_ns), end_ns = greatest(s.end_ns, excluded.end_ns),
      ${[
        "events",
        "model_starts",
        "model_ends",
        "tool_starts",
        "tool_ends",
        "mcp_starts",
        "mcp_ends",
        "total_tokens",
        "cost",
        "errors",
      ]
        .map((f) => `${f} = s.${f} + excluded.${f}`)
        .join(", ")},
      max_severity = greatest(s.max_severity, excluded.max_severity),
      ${["last_ns", "last_event_id", "last_status"]
        .map((f) => `${f} = CASE WHEN ${newer("last_ns", "last_event_id")} THEN excluded.${f} ELSE s.${f} END`)
        .join(", ")},
      ${["end_event_ns", "end_event_id", "end_status"]
        .map(
          (f) => `${f} = CASE WHEN excluded.end_event_ns IS NOT NULL
            AND (s.end_event_ns IS NULL OR ${newer("end_event_ns", "end_event_id")}) THEN excluded.${f} ELSE s.${f} END`,
        )
        .join(", ")},
      agents = ARRAY(SELECT DISTINCT a FROM unnest(s.agents || excluded.agents) a ORDER BY a LIMIT ${MAX_SESSION_AGENTS})
),${timeRollup("usage_minutely", "stats_usage_minutely", "minute", "chaukas_minute")},${timeRollup("usage_hourly", "stats_usage_hourly", "hour", "chaukas_hour")}`;

/**
 * Takes up to `limit` events stored before the usage rollups existed off usage_backfill, reads
 * their figures from their payloads and adds them to the rollups; returns how many it took. Run by
 * the integrator, in its transaction.
 */
export async function rollUpBackfill(client: pg.ClientBase, limit: number): Promise<number> {
  const { rows } = await client.query<BackfillRow>({
    name: "take-usage-backfill",
    text: TAKE_BACKFILL,
    values: [limit],
  });
  if (rows.length === 0) return 0;
  const usages = rows.map((row) => storedUsage(row.payload));
  await client.query({
    name: "roll-up-usage-backfill",
    text: ROLL_UP_ROWS,
    values: [
      rows.map((r) => r.tenant_id),
      rows.map((r) => r.event_id),
      rows.map((r) => r.project_id),
      rows.map((r) => r.session_id),
      rows.map((r) => r.type),
      rows.map((r) => r.status),
      rows.map((r) => r.severity),
      rows.map((r) => r.ts_ns),
      ...addUsageArrays(new BinaryArrays(), usages).build(),
    ],
  });
  return rows.length;
}

/** A stored payload is the canonical encoding ingest checked; one that no longer decodes counts without figures. */
function storedUsage(payload: Uint8Array): EventUsage {
  try {
    return eventUsage(fromBinary(EventSchema, payload));
  } catch {
    return NO_USAGE;
  }
}

interface BackfillRow {
  tenant_id: string;
  event_id: string;
  project_id: string;
  session_id: string;
  type: number;
  status: number;
  severity: number;
  ts_ns: string;
  payload: Buffer;
}

const TAKE_BACKFILL = `
WITH taken AS (
  DELETE FROM usage_backfill WHERE ctid = ANY(ARRAY(SELECT ctid FROM usage_backfill LIMIT $1))
  RETURNING tenant_id, event_id
)
SELECT e.tenant_id, e.event_id, e.project_id, e.session_id, e.type, e.status, e.severity, e.ts_ns, e.payload
FROM taken t JOIN events e ON e.tenant_id = t.tenant_id AND e.event_id = t.event_id`;

const ROLL_UP_ROWS = `
WITH given AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int2[], $6::int2[], $7::int2[],
                       $8::int8[], ${usageParameterTypes(9)})
    AS t(tenant_id, event_id, project_id, session_id, type, status, severity, ts_ns, ${USAGE_COLUMNS.join(", ")})
), ${usageRollup("given")}
SELECT 1`;
