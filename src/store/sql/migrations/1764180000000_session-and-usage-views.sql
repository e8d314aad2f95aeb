-- Up Migration

-- The dashboard's session list and usage figures from rollups (ADR 0015). Ingest reads each
-- event's agent, model, tokens and cost from its bytes and queues them with it; the integrator
-- adds them to these rollups in the transaction that takes the events off the queue (see
-- usage-rollup.ts), as it does for the event statistics. `events` is not changed.
ALTER TABLE ingest_queue
  ADD COLUMN status smallint,
  ADD COLUMN severity smallint,
  ADD COLUMN agent text COLLATE "C",
  ADD COLUMN model text COLLATE "C",
  ADD COLUMN input_tokens bigint,
  ADD COLUMN output_tokens bigint,
  ADD COLUMN total_tokens bigint,
  ADD COLUMN cost float8,
  -- False for events queued before this migration: they lack the figures above, and are rolled
  -- up from their payloads through usage_backfill instead.
  ADD COLUMN in_usage boolean NOT NULL DEFAULT false;
ALTER TABLE ingest_queue ALTER COLUMN in_usage SET DEFAULT true;

-- Minutes since the Unix epoch, rounded down (also before 1970).
CREATE FUNCTION chaukas_minute(ts_ns bigint) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (ts_ns / 60000000000 - CASE WHEN ts_ns % 60000000000 < 0 THEN 1 ELSE 0 END)::integer
$$;

-- One row per session and project: the figures of ListSessions.
CREATE TABLE stats_session_usage (
  tenant_id      text COLLATE "C" NOT NULL,
  project_id     text COLLATE "C" NOT NULL,
  session_id     text COLLATE "C" NOT NULL,
  -- The earliest and latest event time.
  start_ns       bigint NOT NULL,
  end_ns         bigint NOT NULL,
  events         bigint NOT NULL,
  model_starts   bigint NOT NULL,
  model_ends     bigint NOT NULL,
  tool_starts    bigint NOT NULL,
  tool_ends      bigint NOT NULL,
  mcp_starts     bigint NOT NULL,
  mcp_ends       bigint NOT NULL,
  total_tokens   bigint NOT NULL,
  cost           float8 NOT NULL,
  errors         bigint NOT NULL,
  max_severity   smallint NOT NULL,
  -- The latest event by (ts_ns, event_id), and the latest SESSION_END (NULL while there is none).
  last_ns        bigint NOT NULL,
  last_event_id  text COLLATE "C" NOT NULL,
  last_status    smallint NOT NULL,
  end_event_ns   bigint,
  end_event_id   text COLLATE "C",
  end_status     smallint,
  -- The first 20 distinct agents in bytewise order: the same whatever order events arrive in.
  agents         text[] COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant_id, project_id, session_id)
);
-- Newest first, tenant-wide or in one project; keyset pages on (start_ns, project_id, session_id).
CREATE INDEX stats_session_usage_start ON stats_session_usage (tenant_id, start_ns, project_id, session_id);
CREATE INDEX stats_session_usage_project_start ON stats_session_usage (tenant_id, project_id, start_ns, session_id);

-- Per minute and per hour, project, model and agent ('' for none): the figures of GetUsage. The
-- minutes serve buckets under an hour, the hours long ranges in few rows.
CREATE TABLE stats_usage_minutely (
  tenant_id      text COLLATE "C" NOT NULL,
  minute         integer NOT NULL,
  project_id     text COLLATE "C" NOT NULL,
  model          text COLLATE "C" NOT NULL,
  agent          text COLLATE "C" NOT NULL,
  events         bigint NOT NULL,
  errors         bigint NOT NULL,
  model_starts   bigint NOT NULL,
  model_ends     bigint NOT NULL,
  input_tokens   bigint NOT NULL,
  output_tokens  bigint NOT NULL,
  total_tokens   bigint NOT NULL,
  cost           float8 NOT NULL,
  PRIMARY KEY (tenant_id, minute, project_id, model, agent)
);
CREATE TABLE stats_usage_hourly (LIKE stats_usage_minutely INCLUDING ALL);
ALTER TABLE stats_usage_hourly RENAME COLUMN minute TO hour;

-- Events stored before this migration, to be rolled up from their payloads by the integrator, a
-- batch per round (SQL cannot decode a payload).
CREATE TABLE usage_backfill (
  tenant_id  text COLLATE "C" NOT NULL,
  event_id   text COLLATE "C" NOT NULL
);
INSERT INTO usage_backfill (tenant_id, event_id) SELECT tenant_id, event_id FROM events;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['stats_session_usage', 'stats_usage_minutely', 'stats_usage_hourly', 'usage_backfill'] LOOP
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I TO chaukas_tenant', t);
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY %I ON %I
      USING (tenant_id = current_setting('chaukas.tenant_id', true) OR current_user = 'chaukas_all_tenants')
      WITH CHECK (tenant_id = current_setting('chaukas.tenant_id', true) OR current_user = 'chaukas_all_tenants')$p$,
      t || '_tenant_isolation', t);
  END LOOP;
END $$;
GRANT DELETE ON usage_backfill TO chaukas_tenant;

-- Down Migration
DROP TABLE usage_backfill;
DROP TABLE stats_usage_hourly;
DROP TABLE stats_usage_minutely;
DROP TABLE stats_session_usage;
DROP FUNCTION chaukas_minute(bigint);
ALTER TABLE ingest_queue
  DROP COLUMN in_usage, DROP COLUMN cost, DROP COLUMN total_tokens, DROP COLUMN output_tokens,
  DROP COLUMN input_tokens, DROP COLUMN model, DROP COLUMN agent, DROP COLUMN severity, DROP COLUMN status;
