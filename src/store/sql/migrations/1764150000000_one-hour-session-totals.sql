-- Up Migration

-- A range's sessions that lie within one hour of it were counted from their stats_sessions rows:
-- a 30-day range of a big tenant read tens of thousands of them. These totals per hour make that
-- part of the answer one row per hour in range; a range reads single sessions only where its
-- edges or the queue add events to them (see sql-event-stats.ts). The integrator keeps them in
-- the statement that updates stats_sessions. Stop servers of an earlier version before this
-- runs: their integrator does not keep these rows.
CREATE TABLE stats_one_hour_sessions (
  tenant_id       text COLLATE "C" NOT NULL,
  project_id      text COLLATE "C" NOT NULL,
  hour            integer NOT NULL,
  -- Over the sessions whose first_hour and last_hour are this hour, as stats_session_totals.
  sessions        bigint NOT NULL,
  timed_sessions  bigint NOT NULL,
  duration_ns     numeric NOT NULL,
  PRIMARY KEY (tenant_id, project_id, hour)
);

GRANT SELECT, INSERT, UPDATE ON stats_one_hour_sessions TO chaukas_tenant;
ALTER TABLE stats_one_hour_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE stats_one_hour_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY stats_one_hour_sessions_tenant_isolation ON stats_one_hour_sessions
  USING (tenant_id = current_setting('chaukas.tenant_id', true)
         OR current_setting('chaukas.all_tenants', true) = 'on')
  WITH CHECK (tenant_id = current_setting('chaukas.tenant_id', true)
              OR current_setting('chaukas.all_tenants', true) = 'on');

INSERT INTO stats_one_hour_sessions (tenant_id, project_id, hour, sessions, timed_sessions, duration_ns)
SELECT tenant_id, project_id, first_hour, count(*), count(*) FILTER (WHERE ended_ns >= started_ns),
       coalesce(sum(ended_ns - started_ns) FILTER (WHERE ended_ns >= started_ns), 0)
FROM stats_sessions WHERE first_hour = last_hour
GROUP BY 1, 2, 3;

-- Its only reader was the range query's scan of one-hour sessions; every rollup round wrote it.
DROP INDEX stats_sessions_one_hour;

-- Down Migration
CREATE INDEX stats_sessions_one_hour ON stats_sessions (tenant_id, project_id, first_hour)
  INCLUDE (session_id, started_ns, ended_ns) WHERE first_hour = last_hour;
DROP TABLE stats_one_hour_sessions;
