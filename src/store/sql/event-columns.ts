import type pg from "pg";
import type { ColumnDifference, EventRecord } from "../event-store.ts";

/**
 * The columns of `events` that queries find events by, and how they are made from a record: one
 * definition for the insert that writes them and for the check that they still hold what the
 * payload gives (`chaukas verify`).
 */

/** The index columns, in the order of RECORD_PARAMETERS and INDEX_VALUES. */
export const INDEX_COLUMNS = [
  "tenant_id",
  "event_id",
  "project_id",
  "session_id",
  "trace_id",
  "span_id",
  "agent_id",
  "type",
  "status",
  "severity",
  "ts_ns",
  "tags",
  "search",
] as const;

/** unnest() over parameters $1..$13 (recordParameters) gives one row per record with these fields. */
export const RECORD_PARAMETERS =
  "$1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], " +
  "$8::int2[], $9::int2[], $10::int2[], $11::int8[], $12::text[], $13::text[]";
export const RECORD_FIELDS =
  "tenant_id, event_id, project_id, session_id, trace_id, span_id, agent_id, type, status, severity, ts_ns, tags, search_text";

/** The index columns' values from a row of RECORD_FIELDS. */
export const INDEX_VALUES = `tenant_id, event_id, project_id, session_id,
  NULLIF(trace_id, '') AS trace_id, NULLIF(span_id, '') AS span_id, NULLIF(agent_id, '') AS agent_id,
  type, status, severity, ts_ns,
  ARRAY(SELECT jsonb_array_elements_text(tags::jsonb)) AS tags,
  to_tsvector('simple', search_text) AS search`;

/** The values of parameters $1..$13, one array per field of RECORD_FIELDS. */
export function recordParameters(records: readonly EventRecord[]): unknown[] {
  return [
    records.map((r) => r.tenantId),
    records.map((r) => r.eventId),
    records.map((r) => r.projectId),
    records.map((r) => r.sessionId),
    records.map((r) => r.traceId),
    records.map((r) => r.spanId),
    records.map((r) => r.agentId),
    records.map((r) => r.type),
    records.map((r) => r.status),
    records.map((r) => r.severity),
    records.map((r) => r.timestampNs.toString()),
    records.map((r) => JSON.stringify(r.tags)),
    // PostgreSQL text cannot hold NUL; the search text is only indexed, so a space loses nothing.
    records.map((r) => withoutNul(r.searchText)),
  ];
}

/** NUL as a space: PostgreSQL refuses NUL in text, and the search text is indexed with it replaced. */
export function withoutNul(text: string): string {
  return text.replaceAll("\0", " ");
}

/** The stored events of `records` whose index columns are not what the records make of them. */
export async function selectColumnDifferences(
  client: pg.ClientBase,
  records: readonly EventRecord[],
): Promise<ColumnDifference[]> {
  if (records.length === 0) return [];
  const pairs = INDEX_COLUMNS.map((column) => `('${column}', e.${column}::text, d.${column}::text)`).join(", ");
  const { rows } = await client.query<ColumnDifference>(
    `WITH derived AS (
       SELECT ${INDEX_VALUES}, n FROM unnest(${RECORD_PARAMETERS}) WITH ORDINALITY AS t(${RECORD_FIELDS}, n))
     SELECT d.event_id AS "eventId", c.name AS "column", c.stored, c.derived
     FROM derived d
     JOIN events e ON e.tenant_id = d.tenant_id COLLATE "C" AND e.event_id = d.event_id COLLATE "C"
     CROSS JOIN LATERAL (VALUES ${pairs}) AS c(name, stored, derived)
     WHERE c.stored IS DISTINCT FROM c.derived
     ORDER BY d.n, c.name`,
    recordParameters(records),
  );
  return rows;
}
