-- Up Migration

-- GetEventStats from rollups instead of a scan of every event in range. The rollups are kept by
-- the integrator (see sql-audit-log.ts), in the transaction that takes events off the queue, so
-- an event is always counted exactly once: in a rollup, or still on the queue, which the stats
-- query reads too (see sql-event-stats.ts). Ingest itself touches no rollup row, so concurrent
-- batches of one tenant never wait for each other.

-- The audit log's queue becomes the queue of both consumers, and carries what the rollups need.
-- `to_log` is false for events that are not to join the log (stored with the trail off, or
-- before it existed).
ALTER TABLE audit_pending RENAME TO ingest_queue;
ALTER POLICY audit_pending_tenant_isolation ON ingest_queue RENAME TO ingest_queue_tenant_isolation;
ALTER TABLE ingest_queue
  ADD COLUMN project_id text COLLATE "C",
  ADD COLUMN session_id text COLLATE "C",
  ADD COLUMN type smallint,
  ADD COLUMN ts_ns bigint,
  ADD COLUMN to_log boolean NOT NULL DEFAULT true;
UPDATE ingest_queue q SET project_id = e.project_id, session_id = e.session_id, type = e.type, ts_ns = e.ts_ns
FROM events e WHERE e.tenant_id = q.tenant_id AND e.event_id = q.event_id;
ALTER TABLE ingest_queue
  ALTER COLUMN project_id SET NOT NULL,
  ALTER COLUMN session_id SET NOT NULL,
  ALTER COLUMN type SET NOT NULL,
  ALTER COLUMN ts_ns SET NOT NULL;

-- Hours since the Unix epoch, rounded down (also before 1970): the rollups' time bucket.
CREATE FUNCTION chaukas_hour(ts_ns bigint) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (ts_ns / 3600000000000 - CASE WHEN ts_ns % 3600000000000 < 0 THEN 1 ELSE 0 END)::integer
$$;

-- Events per type per hour, and the same per day (day = floor(hour / 24)) so a long range reads
-- few rows.
CREATE TABLE stats_hourly (
  tenant_id   text COLLATE "C" NOT NULL,
  hour        integer NOT NULL,
  project_id  text COLLATE "C" NOT NULL,
  type        smallint NOT NULL,
  events      bigint NOT NULL,
  PRIMARY KEY (tenant_id, hour, project_id, type)
);
CREATE TABLE stats_daily (
  tenant_id   text COLLATE "C" NOT NULL,
  day         integer NOT NULL,
  project_id  text COLLATE "C" NOT NULL,
  type        smallint NOT NULL,
  events      bigint NOT NULL,
  PRIMARY KEY (tenant_id, day, project_id, type)
);

-- All time: each session once per project, and once per tenant under project_id '' (no real
-- project is empty), with the first and last hour it has events in. A range's sessions that lie
-- within one hour of it (most sessions last seconds or minutes) are counted from these rows
-- alone, through the partial index.
CREATE TABLE stats_sessions (
  tenant_id   text COLLATE "C" NOT NULL,
  project_id  text COLLATE "C" NOT NULL,
  session_id  text COLLATE "C" NOT NULL,
  started_ns  bigint,
  ended_ns    bigint,
  first_hour  integer NOT NULL,
  last_hour   integer NOT NULL,
  PRIMARY KEY (tenant_id, project_id, session_id)
);
CREATE INDEX stats_sessions_one_hour ON stats_sessions (tenant_id, project_id, first_hour)
  INCLUDE (session_id, started_ns, ended_ns) WHERE first_hour = last_hour;

-- The hours of sessions that span more than one, in the same scopes, each with its first
-- SESSION_START and last SESSION_END in that hour: a range combines them per session.
CREATE TABLE stats_session_hours (
  tenant_id   text COLLATE "C" NOT NULL,
  project_id  text COLLATE "C" NOT NULL,
  hour        integer NOT NULL,
  session_id  text COLLATE "C" NOT NULL,
  started_ns  bigint,
  ended_ns    bigint,
  -- Covering: a range reads them with an index-only scan.
  PRIMARY KEY (tenant_id, project_id, hour, session_id) INCLUDE (started_ns, ended_ns)
);

-- Running totals per project and per tenant (''), so stats over all time read one row.
CREATE TABLE stats_session_totals (
  tenant_id       text COLLATE "C" NOT NULL,
  project_id      text COLLATE "C" NOT NULL,
  sessions        bigint NOT NULL,
  -- Sessions whose last SESSION_END is not before their first SESSION_START, and the sum of those
  -- durations: avg_session_duration_ms is their quotient.
  timed_sessions  bigint NOT NULL,
  duration_ns     numeric NOT NULL,
  PRIMARY KEY (tenant_id, project_id)
);

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['stats_hourly', 'stats_daily', 'stats_session_hours', 'stats_sessions', 'stats_session_totals'] LOOP
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I TO chaukas_tenant', t);
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY %I ON %I
      USING (tenant_id = current_setting('chaukas.tenant_id', true)
             OR current_setting('chaukas.all_tenants', true) = 'on')
      WITH CHECK (tenant_id = current_setting('chaukas.tenant_id', true)
                  OR current_setting('chaukas.all_tenants', true) = 'on')$p$, t || '_tenant_isolation', t);
  END LOOP;
END $$;

-- Events stored before this migration and not queued are rolled up by queueing them, outside
-- the log: the integrator's next round counts them.
INSERT INTO ingest_queue (tenant_id, event_id, content_hash, project_id, session_id, type, ts_ns, to_log)
SELECT e.tenant_id, e.event_id, '', e.project_id, e.session_id, e.type, e.ts_ns, false
FROM events e
WHERE NOT EXISTS (SELECT 1 FROM ingest_queue q WHERE q.tenant_id = e.tenant_id AND q.event_id = e.event_id)
ORDER BY e.tenant_id, e.ts_ns;

-- Down Migration
DELETE FROM ingest_queue WHERE NOT to_log;
DROP TABLE stats_session_totals;
DROP TABLE stats_sessions;
DROP TABLE stats_session_hours;
DROP TABLE stats_daily;
DROP TABLE stats_hourly;
DROP FUNCTION chaukas_hour(bigint);
ALTER TABLE ingest_queue DROP COLUMN to_log, DROP COLUMN ts_ns, DROP COLUMN type, DROP COLUMN session_id, DROP COLUMN project_id;
ALTER POLICY ingest_queue_tenant_isolation ON ingest_queue RENAME TO audit_pending_tenant_isolation;
ALTER TABLE ingest_queue RENAME TO audit_pending;
