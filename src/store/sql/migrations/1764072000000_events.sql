-- Up Migration

-- One row per stored event. The full protobuf is kept in `payload`, so a queried event is
-- byte-for-byte what was ingested; the other columns exist only to find events fast.
-- Empty strings from the protobuf are stored as NULL so the partial indexes below stay small.
-- Ids compare bytewise (COLLATE "C"): the same order on every server, and cheaper comparisons.
CREATE TABLE events (
  tenant_id      text COLLATE "C" NOT NULL,
  event_id       text COLLATE "C" NOT NULL,
  project_id     text COLLATE "C" NOT NULL,
  session_id     text COLLATE "C" NOT NULL,
  trace_id       text COLLATE "C",
  span_id        text COLLATE "C",
  agent_id       text COLLATE "C",
  type           smallint NOT NULL,
  status         smallint NOT NULL,
  severity       smallint NOT NULL,
  -- Event.timestamp in nanoseconds since the Unix epoch: exact ordering and range filters to the
  -- nanosecond, which timestamptz (microseconds) cannot give.
  ts_ns          bigint   NOT NULL,
  tags           text[]   NOT NULL DEFAULT '{}',
  -- Built at insert time from a bounded extract of the event (see domain/search-text.ts); the
  -- text itself is not stored twice.
  search         tsvector NOT NULL,
  payload        bytea    NOT NULL,
  ingested_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, event_id)
);

-- A tenant's stream, time ranges and keyset pagination in either direction.
CREATE INDEX events_tenant_time ON events (tenant_id, ts_ns, event_id);
CREATE INDEX events_project_time ON events (tenant_id, project_id, ts_ns, event_id);
CREATE INDEX events_session_time ON events (tenant_id, session_id, ts_ns, event_id);
CREATE INDEX events_trace_time ON events (tenant_id, trace_id, ts_ns, event_id) WHERE trace_id IS NOT NULL;
CREATE INDEX events_span ON events (tenant_id, span_id) WHERE span_id IS NOT NULL;
CREATE INDEX events_agent_time ON events (tenant_id, agent_id, ts_ns, event_id) WHERE agent_id IS NOT NULL;
CREATE INDEX events_type_time ON events (tenant_id, type, ts_ns, event_id);
-- Status and severity have few values, and the rare ones are what people search for (failures,
-- warnings, errors): partial indexes cover those at a fraction of the ingest cost of full ones.
CREATE INDEX events_failed_time ON events (tenant_id, status, ts_ns, event_id) WHERE status IN (4, 5);
CREATE INDEX events_severe_time ON events (tenant_id, severity, ts_ns, event_id) WHERE severity IN (3, 4);
CREATE INDEX events_tags ON events USING gin (tags);
CREATE INDEX events_search ON events USING gin (search);

-- Server-wide secrets shared by every process on the same database (the page-token key).
CREATE TABLE server_secrets (
  name  text  PRIMARY KEY,
  value bytea NOT NULL
);

-- Down Migration
DROP TABLE server_secrets;
DROP TABLE events;
