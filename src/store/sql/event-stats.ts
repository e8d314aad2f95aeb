import type pg from "pg";
import type { EventStats, StatsQuery } from "../event-store.ts";
import { usageRollup } from "./usage-rollup.ts";

/**
 * GetEventStats from rollups (migration stats-rollups). The integrator takes events off the
 * queue and adds them to the rollups in one statement (TAKE_QUEUED_AND_ROLL_UP), so at any
 * snapshot each stored event is either in the rollups or on the queue, never both. A stats query
 * reads, in one statement (one snapshot):
 * - hours and days wholly inside the range from the rollups, plus queued events in them;
 * - the parts of the range that do not fill an hour (at most two, each under an hour) from the
 *   events themselves;
 * - with no range, the all-time rows, corrected by the queued events.
 * The answer is the one a scan of every event in range would give.
 */

const HOUR_NS = 3_600_000_000_000n;
const SESSION_START = 1;
const SESSION_END = 2;

/** Hours since the Unix epoch, rounded down: chaukas_hour() in SQL. */
export function hourOf(tsNs: bigint): bigint {
  return tsNs / HOUR_NS - (tsNs % HOUR_NS < 0n ? 1n : 0n);
}

/** A time range split by where each part is counted. Hour and day ranges are half-open. */
export interface StatsPlan {
  /** Whole hours [from, to): from the rollups (and the queue). */
  hours: { from: bigint; to: bigint };
  /** Whole days [from, to) within `hours`: their event counts from the daily rollup. */
  days: { from: bigint; to: bigint };
  /** What is left of the range outside `hours`: counted from the events themselves, in ns. */
  edges: [{ from: bigint; to: bigint }, { from: bigint; to: bigint }];
}

/** Splits [startNs, endNs) into whole days, whole hours around them, and the two sub-hour edges. */
export function planStats(startNs: bigint, endNs: bigint): StatsPlan {
  let firstHour = hourOf(startNs);
  if (firstHour * HOUR_NS < startNs) firstHour += 1n;
  let endHour = hourOf(endNs);
  if (endHour < firstHour) endHour = firstHour; // no whole hour: the edges cover everything
  const firstDay = floorDiv(firstHour + 23n, 24n);
  const endDay = floorDiv(endHour, 24n);
  const days = firstDay < endDay ? { from: firstDay, to: endDay } : { from: 0n, to: 0n };
  const hours = { from: firstHour, to: endHour };
  if (hours.from === hours.to)
    return {
      hours,
      days,
      edges: [
        { from: startNs, to: endNs },
        { from: 0n, to: 0n },
      ],
    };
  return {
    hours,
    days,
    edges: [
      { from: startNs, to: firstHour * HOUR_NS },
      { from: endHour * HOUR_NS, to: endNs },
    ],
  };
}

function floorDiv(a: bigint, b: bigint): bigint {
  return a / b - (a % b < 0n ? 1n : 0n);
}

/** $1 tenant, $2 project or NULL: the rows of events, the queue and the type counts in scope. */
const IN_SCOPE = "tenant_id = $1 AND ($2::text IS NULL OR project_id = $2)";
/** The same for session rows, kept per project and tenant-wide under project_id ''. */
const SESSION_SCOPE = "tenant_id = $1 AND project_id = coalesce($2, '')";

/** A session's first SESSION_START and last SESSION_END among the grouped events. */
function sessionBounds(table = ""): string {
  return `min(${table}ts_ns) FILTER (WHERE ${table}type = ${SESSION_START}) AS started_ns,
         max(${table}ts_ns) FILTER (WHERE ${table}type = ${SESSION_END}) AS ended_ns`;
}

/**
 * For sessions given as (tenant_id, project_id, session_id, started_ns, ended_ns, first_hour,
 * last_hour) in `source`, their all-time row before and after adding them.
 */
function sessionChanges(source: string): string {
  return `
  SELECT n.tenant_id, n.project_id, n.session_id, o.session_id IS NULL AS is_new,
         o.started_ns AS old_started, o.ended_ns AS old_ended,
         least(o.started_ns, n.started_ns) AS new_started, greatest(o.ended_ns, n.ended_ns) AS new_ended,
         o.first_hour AS old_first_hour, o.last_hour AS old_last_hour,
         least(o.first_hour, n.first_hour) AS new_first_hour, greatest(o.last_hour, n.last_hour) AS new_last_hour
  FROM ${source} n LEFT JOIN stats_sessions o
    ON o.tenant_id = n.tenant_id AND o.project_id = n.project_id AND o.session_id = n.session_id`;
}

/** n, timed, duration_ns over rows with started_ns and ended_ns, each negated when `sign` is "-". */
function sessionSums(sign: "" | "-" = ""): string {
  return `${sign}count(*) AS n, ${sign}count(*) FILTER (WHERE ended_ns >= started_ns) AS timed,
         ${sign}sum(ended_ns - started_ns) FILTER (WHERE ended_ns >= started_ns) AS duration_ns`;
}

/** sessions, timed_sessions, duration_ns: how `changes` moves the totals. */
const TOTALS_DELTA = `
  count(*) FILTER (WHERE is_new) AS sessions,
  count(*) FILTER (WHERE new_ended >= new_started) - count(*) FILTER (WHERE old_ended >= old_started) AS timed_sessions,
  coalesce(sum(new_ended - new_started) FILTER (WHERE new_ended >= new_started), 0)
    - coalesce(sum(old_ended - old_started) FILTER (WHERE old_ended >= old_started), 0) AS duration_ns`;

/**
 * Deletes up to $1 queued events and adds them to every rollup, in one statement; returns the
 * deleted rows in log order for the audit log: (stored_xid, event_id), of transactions below
 * chaukas_log_horizon() only, so that no event can later be queued before one taken (see the
 * audit-leaf-tiles migration). Only the integrator runs it (under its advisory lock), so the
 * all-time rows it reads are the ones it then updates.
 */
export const TAKE_QUEUED_AND_ROLL_UP = `
WITH q AS (
  DELETE FROM ingest_queue WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM ingest_queue WHERE coalesce(stored_xid, '0') < (SELECT chaukas_log_horizon())
    ORDER BY coalesce(stored_xid, '0'), event_id LIMIT $1))
  RETURNING *, coalesce(stored_xid, '0') AS log_xid
), hourly AS (
  INSERT INTO stats_hourly AS s (tenant_id, hour, project_id, type, events)
  SELECT tenant_id, chaukas_hour(ts_ns), project_id, type, count(*) FROM q GROUP BY 1, 2, 3, 4
  ON CONFLICT (tenant_id, hour, project_id, type) DO UPDATE SET events = s.events + excluded.events
), daily AS (
  INSERT INTO stats_daily AS s (tenant_id, day, project_id, type, events)
  SELECT tenant_id, floor(chaukas_hour(ts_ns) / 24.0)::integer, project_id, type, count(*) FROM q GROUP BY 1, 2, 3, 4
  ON CONFLICT (tenant_id, day, project_id, type) DO UPDATE SET events = s.events + excluded.events
), scoped_hours AS (
  -- Each session's events per hour, in its project and tenant-wide (project_id '').
  SELECT q.tenant_id, p.project_id, q.session_id, chaukas_hour(q.ts_ns) AS hour,
         ${sessionBounds("q.")}
  FROM q CROSS JOIN LATERAL (VALUES (q.project_id), ('')) AS p(project_id)
  GROUP BY 1, 2, 3, 4
), sessions AS (
  SELECT tenant_id, project_id, session_id, min(started_ns) AS started_ns, max(ended_ns) AS ended_ns,
         min(hour) AS first_hour, max(hour) AS last_hour
  FROM scoped_hours GROUP BY 1, 2, 3
), changes AS (${sessionChanges("sessions")}
), stored_sessions AS (
  INSERT INTO stats_sessions AS s (tenant_id, project_id, session_id, started_ns, ended_ns, first_hour, last_hour)
  SELECT tenant_id, project_id, session_id, new_started, new_ended, new_first_hour, new_last_hour FROM changes
  ON CONFLICT (tenant_id, project_id, session_id) DO UPDATE
  SET started_ns = excluded.started_ns, ended_ns = excluded.ended_ns,
      first_hour = excluded.first_hour, last_hour = excluded.last_hour
), session_hours AS (
  -- Hour rows only for sessions that span hours: the new events' hours, and, for a session that
  -- spanned one hour until now, that hour as its all-time row had it.
  INSERT INTO stats_session_hours AS s (tenant_id, project_id, hour, session_id, started_ns, ended_ns)
  SELECT tenant_id, project_id, hour, session_id, min(started_ns), max(ended_ns) FROM (
    SELECT h.tenant_id, h.project_id, h.hour, h.session_id, h.started_ns, h.ended_ns
    FROM scoped_hours h JOIN changes c
      ON c.tenant_id = h.tenant_id AND c.project_id = h.project_id AND c.session_id = h.session_id
    WHERE c.new_first_hour <> c.new_last_hour
    UNION ALL
    SELECT tenant_id, project_id, old_first_hour, session_id, old_started, old_ended FROM changes
    WHERE old_first_hour = old_last_hour AND new_first_hour <> new_last_hour
  ) hours
  GROUP BY 1, 2, 3, 4
  ON CONFLICT (tenant_id, project_id, hour, session_id) DO UPDATE
  SET started_ns = least(s.started_ns, excluded.started_ns), ended_ns = greatest(s.ended_ns, excluded.ended_ns)
), one_hour_totals AS (
  -- A session leaves its hour's totals when it comes to span hours or moves, and joins them
  -- while all its events lie in one hour.
  INSERT INTO stats_one_hour_sessions AS s (tenant_id, project_id, hour, sessions, timed_sessions, duration_ns)
  SELECT tenant_id, project_id, hour, sum(sessions), sum(timed), sum(duration_ns) FROM (
    SELECT tenant_id, project_id, old_first_hour AS hour, -1 AS sessions,
           CASE WHEN old_ended >= old_started THEN -1 ELSE 0 END AS timed,
           CASE WHEN old_ended >= old_started THEN old_started::numeric - old_ended ELSE 0 END AS duration_ns
    FROM changes WHERE NOT is_new AND old_first_hour = old_last_hour
    UNION ALL
    SELECT tenant_id, project_id, new_first_hour, 1,
           CASE WHEN new_ended >= new_started THEN 1 ELSE 0 END,
           CASE WHEN new_ended >= new_started THEN new_ended::numeric - new_started ELSE 0 END
    FROM changes WHERE new_first_hour = new_last_hour
  ) moves
  GROUP BY 1, 2, 3
  ON CONFLICT (tenant_id, project_id, hour) DO UPDATE
  SET sessions = s.sessions + excluded.sessions, timed_sessions = s.timed_sessions + excluded.timed_sessions,
      duration_ns = s.duration_ns + excluded.duration_ns
), totals AS (
  INSERT INTO stats_session_totals AS s (tenant_id, project_id, sessions, timed_sessions, duration_ns)
  SELECT tenant_id, project_id, ${TOTALS_DELTA} FROM changes GROUP BY 1, 2
  ON CONFLICT (tenant_id, project_id) DO UPDATE
  SET sessions = s.sessions + excluded.sessions, timed_sessions = s.timed_sessions + excluded.timed_sessions,
      duration_ns = s.duration_ns + excluded.duration_ns
), ${usageRollup("q WHERE in_usage")}
SELECT tenant_id, event_id, content_hash, to_log, log_xid::text AS log_xid_text FROM q ORDER BY q.log_xid, q.event_id`;

/** $1 tenant, $2 project or NULL: all time from the totals and daily rows, plus the queue. */
const ALL_TIME_STATS = `
WITH queued AS (
  SELECT session_id, type, ts_ns FROM ingest_queue WHERE ${IN_SCOPE}
), by_type AS (
  SELECT type, sum(n) AS n FROM (
    SELECT type, sum(events) AS n FROM stats_daily
    WHERE ${IN_SCOPE} GROUP BY type
    UNION ALL SELECT type, count(*) FROM queued GROUP BY type) parts
  GROUP BY type
), queued_sessions AS (
  SELECT $1::text COLLATE "C" AS tenant_id, coalesce($2, '')::text COLLATE "C" AS project_id, session_id,
         ${sessionBounds()},
         chaukas_hour(min(ts_ns)) AS first_hour, chaukas_hour(max(ts_ns)) AS last_hour
  FROM queued GROUP BY session_id
), changes AS (${sessionChanges("queued_sessions")}
), delta AS (
  SELECT ${TOTALS_DELTA} FROM changes
), totals AS (
  SELECT coalesce(t.sessions, 0) + d.sessions AS sessions,
         coalesce(t.timed_sessions, 0) + d.timed_sessions AS timed,
         coalesce(t.duration_ns, 0) + d.duration_ns AS duration_ns
  FROM delta d LEFT JOIN stats_session_totals t ON t.tenant_id = $1 AND t.project_id = coalesce($2, '')
)
SELECT (SELECT json_agg(json_build_array(type, n)) FROM by_type) AS by_type, sessions::text AS sessions,
       CASE WHEN timed > 0 THEN (duration_ns / timed / 1e6)::float8 END AS avg_ms
FROM totals`;

/**
 * $1 tenant, $2 project or NULL, whole hours [$3, $4), whole days [$5, $6) within them, and the
 * edges [$7, $8) and [$9, $10) in ns.
 */
const RANGE_STATS = `
WITH edges AS (
  -- Two scans rather than one with OR: each is an index-only scan of the tenant's time index.
  SELECT session_id, type, ts_ns FROM events
  WHERE ${IN_SCOPE} AND ts_ns >= $7::bigint AND ts_ns < $8::bigint
  UNION ALL
  SELECT session_id, type, ts_ns FROM events
  WHERE ${IN_SCOPE} AND ts_ns >= $9::bigint AND ts_ns < $10::bigint
), queued AS (
  SELECT session_id, type, ts_ns FROM ingest_queue
  WHERE ${IN_SCOPE}
    AND chaukas_hour(ts_ns) >= $3::int AND chaukas_hour(ts_ns) < $4::int
), by_type AS (
  SELECT type, sum(n) AS n FROM (
    SELECT type, count(*) AS n FROM edges GROUP BY type
    UNION ALL SELECT type, count(*) FROM queued GROUP BY type
    UNION ALL SELECT type, sum(events) FROM stats_daily
      WHERE ${IN_SCOPE} AND day >= $5::int AND day < $6::int
      GROUP BY type
    UNION ALL SELECT type, sum(events) FROM stats_hourly
      WHERE ${IN_SCOPE} AND hour >= $3::int AND hour < $4::int
        AND NOT (hour >= $5::int * 24 AND hour < $6::int * 24)
      GROUP BY type) parts
  GROUP BY type
), loose AS (
  -- Sessions' events in the edges or on the queue: merged with the rollups per session.
  SELECT session_id,
         CASE WHEN type = ${SESSION_START} THEN ts_ns END AS started_ns,
         CASE WHEN type = ${SESSION_END} THEN ts_ns END AS ended_ns
  FROM (SELECT * FROM edges UNION ALL SELECT * FROM queued) e
), touched AS (
  -- Sessions whose every rolled-up event lies in one hour of the range, and that the edges or the
  -- queue add events to: taken out of their hour's totals and merged one by one. An array, so
  -- each is one primary-key probe rather than a scan of the tenant's sessions for a hash join.
  SELECT session_id, started_ns, ended_ns FROM stats_sessions
  WHERE ${SESSION_SCOPE} AND session_id = ANY(ARRAY(SELECT DISTINCT l.session_id FROM loose l))
    AND first_hour = last_hour AND first_hour >= $3::int AND first_hour < $4::int
), spanning AS (
  SELECT session_id, min(started_ns) AS started_ns, max(ended_ns) AS ended_ns FROM (
    SELECT * FROM loose
    UNION ALL
    SELECT session_id, started_ns, ended_ns FROM stats_session_hours
    WHERE ${SESSION_SCOPE} AND hour >= $3::int AND hour < $4::int
    UNION ALL
    SELECT * FROM touched) parts
  GROUP BY session_id
), sessions AS (
  SELECT ${sessionSums()} FROM spanning
  UNION ALL
  -- The one-hour sessions, most of them, one row per hour.
  SELECT sum(sessions), sum(timed_sessions), sum(duration_ns) FROM stats_one_hour_sessions
  WHERE ${SESSION_SCOPE} AND hour >= $3::int AND hour < $4::int
  UNION ALL
  SELECT ${sessionSums("-")} FROM touched
)
SELECT (SELECT json_agg(json_build_array(type, n)) FROM by_type) AS by_type,
       sum(n)::text AS sessions,
       CASE WHEN sum(timed) > 0 THEN (sum(duration_ns) / sum(timed) / 1e6)::float8 END AS avg_ms
FROM sessions`;

interface StatsRow {
  by_type: [number, number | string][] | null;
  sessions: string;
  avg_ms: number | null;
}

/** The stats of `query`, read in one statement on `client` (already in the tenant's scope). */
export async function selectEventStats(client: pg.ClientBase, query: StatsQuery): Promise<EventStats> {
  const project = query.projectId || null;
  let rows: StatsRow[];
  if (query.startNs === undefined && query.endNs === undefined) {
    ({ rows } = await client.query<StatsRow>(ALL_TIME_STATS, [query.tenantId, project]));
  } else {
    const plan = planStats(query.startNs ?? MIN_NS, query.endNs ?? MAX_NS);
    // Unnamed, so planned for these values each time: a generic plan cannot tell a day from a year.
    ({ rows } = await client.query<StatsRow>(
      RANGE_STATS,
      [
        query.tenantId,
        project,
        plan.hours.from,
        plan.hours.to,
        plan.days.from,
        plan.days.to,
        plan.edges[0].from,
        plan.edges[0].to,
        plan.edges[1].from,
        plan.edges[1].to,
      ].map((v) => (typeof v === "bigint" ? v.toString() : v)),
    ));
  }
  const row = rows[0];
  const eventsByType = new Map<number, bigint>((row.by_type ?? []).map(([type, n]) => [type, BigInt(n)]));
  let totalEvents = 0n;
  for (const n of eventsByType.values()) totalEvents += n;
  return {
    totalEvents,
    totalSessions: BigInt(row.sessions),
    eventsByType,
    avgSessionDurationMs: row.avg_ms ?? 0,
  };
}

/** The int8 bounds: an open end of a range. */
const MIN_NS = -(2n ** 63n);
const MAX_NS = 2n ** 63n - 1n;
