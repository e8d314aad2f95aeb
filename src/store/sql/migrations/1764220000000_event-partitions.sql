-- Up Migration

-- Events in monthly range partitions by event time (ADR 0024, docs/scaling.md §5): each month's
-- rows and indexes in a table of their own, created ahead by chaukas_prepare_event_partitions.
--
-- The existing rows are not copied: the table becomes events_before_YYYY_MM, the partition of
-- everything before next month (the month this runs in stays in it, with the rows it already has),
-- or before the month after its newest event if that is later (a timestamp in the future), so that
-- no row moves. The months from there on get partitions of their own. A valid CHECK of the bound,
-- added first, spares ATTACH its own scan.
--
-- A unique constraint of a partitioned table must include the partition key, so the primary key
-- becomes (tenant_id, event_id, ts_ns): it no longer stops an event_id resent with another
-- timestamp. event_ids, unpartitioned, does: ingest stores in events only the ids it could add
-- there (see event-insert.ts).
DO $$
DECLARE
  newest bigint;
  bound timestamp;
  bound_ns bigint;
  before text;
  index_definitions text[];
  index_definition text;
  index_name text;
BEGIN
  SELECT max(ts_ns) INTO newest FROM events;
  -- Whole seconds toward zero: a bound from them is still past the newest row.
  bound := date_trunc('month', greatest(now(), to_timestamp(newest / 1000000000)) AT TIME ZONE 'UTC')
           + interval '1 month';
  -- A timestamp without time zone counts its seconds as UTC's.
  bound_ns := extract(epoch FROM bound)::bigint * 1000000000;
  before := 'events_before_' || to_char(bound, 'YYYY_MM');

  -- The indexes, as they are, for the partitioned table; the existing ones then become its
  -- partition's (CREATE INDEX on a partitioned table adopts a partition's identical index).
  SELECT array_agg(pg_get_indexdef(i.indexrelid) ORDER BY c.relname) INTO index_definitions
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
  WHERE i.indrelid = 'events'::regclass AND NOT i.indisprimary;

  EXECUTE format('ALTER TABLE events RENAME TO %I', before);
  FOR index_name IN SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                    WHERE i.indrelid = before::regclass LOOP
    EXECUTE format('ALTER INDEX %I RENAME TO %I', index_name, before || substr(index_name, length('events') + 1));
  END LOOP;
  -- Triggers, tenant isolation and grants belong to the partitioned table (below); a partition
  -- is reached only through it.
  EXECUTE format('DROP TRIGGER events_append_only ON %I', before);
  EXECUTE format('DROP TRIGGER events_no_truncate ON %I', before);
  EXECUTE format('DROP POLICY events_tenant_isolation ON %I', before);
  EXECUTE format('ALTER TABLE %I NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY', before);
  EXECUTE format('REVOKE ALL ON %I FROM chaukas_tenant', before);

  -- The same columns, defaults, storage (payload in the row) and compression.
  EXECUTE format('CREATE TABLE events (LIKE %I INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMPRESSION) '
                 'PARTITION BY RANGE (ts_ns)', before);
  EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (ts_ns < %s)', before, before || '_bound', bound_ns);
  EXECUTE format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%s)', before, bound_ns);
  EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', before, before || '_bound');

  -- The one index built anew: the partition's primary key, with ts_ns.
  EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', before, before || '_pkey');
  ALTER TABLE events ADD PRIMARY KEY (tenant_id, event_id, ts_ns);
  FOREACH index_definition IN ARRAY coalesce(index_definitions, '{}') LOOP
    EXECUTE index_definition;
  END LOOP;

  -- One row per stored event id, whatever its time.
  CREATE TABLE event_ids (
    tenant_id  text COLLATE "C" NOT NULL,
    event_id   text COLLATE "C" NOT NULL,
    ts_ns      bigint NOT NULL
  );
  EXECUTE format('INSERT INTO event_ids (tenant_id, event_id, ts_ns) '
                 'SELECT tenant_id, event_id, ts_ns FROM %I ORDER BY tenant_id, event_id', before);
  ALTER TABLE event_ids ADD PRIMARY KEY (tenant_id, event_id);
END $$;

-- Timestamps past the months prepared, or of a month whose partition could not be made.
CREATE TABLE events_default PARTITION OF events DEFAULT;

-- Triggers on a partitioned table fire on each partition's rows, where TG_TABLE_NAME is the
-- partition's name: the table they protect is their argument.
CREATE OR REPLACE FUNCTION chaukas_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  protected text := coalesce(TG_ARGV[0], TG_TABLE_NAME);
BEGIN
  IF protected = 'events' AND TG_OP = 'UPDATE' THEN
    IF OLD.purged_by IS NULL AND NEW.purged_by IS NOT NULL AND NEW.tenant_id = OLD.tenant_id
       AND NEW.event_id = OLD.event_id AND NEW.ts_ns = OLD.ts_ns AND NEW.stored_xid = OLD.stored_xid THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION '% is append-only: % refused', protected, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['events', 'event_ids'] LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION chaukas_refuse_change(%L)',
                   t || '_append_only', t, t);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION chaukas_refuse_change(%L)',
                   t || '_no_truncate', t, t);
    EXECUTE format('GRANT SELECT, INSERT ON %I TO chaukas_tenant', t);
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY %I ON %I
      USING (tenant_id = current_setting('chaukas.tenant_id', true) OR current_user = 'chaukas_all_tenants')
      WITH CHECK (tenant_id = current_setting('chaukas.tenant_id', true) OR current_user = 'chaukas_all_tenants')$p$,
      t || '_tenant_isolation', t);
  END LOOP;
END $$;
GRANT UPDATE (project_id, session_id, trace_id, span_id, agent_id, type, status, severity, tags, search, payload,
              purged_by) ON events TO chaukas_tenant;

-- Creates the monthly partitions (UTC months) missing from this month to `months_ahead` after it,
-- and returns each it created or could not: a month whose rows already sit in events_default
-- (stored before its partition existed) is left there, to be moved by an administrator, and the
-- months after it are still created. Months before the bound of events_before_YYYY_MM are that
-- partition's. It runs as the schema's owner: the serving role may create no table.
CREATE FUNCTION chaukas_prepare_event_partitions(months_ahead integer)
RETURNS TABLE (partition_name text, created boolean)
LANGUAGE plpgsql SECURITY DEFINER
-- Waits this long at most for a lock (a long statement on events_default); the next round tries again.
SET lock_timeout = '5s'
AS $$
DECLARE
  this_month timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
  covered_until timestamp;
  month_start timestamp;
BEGIN
  SELECT max(to_date(substr(c.relname, length('events_before_') + 1), 'YYYY_MM')::timestamp)
    INTO covered_until
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
  WHERE i.inhparent = 'events'::regclass AND c.relname LIKE 'events\_before\_%';
  FOR m IN 0..months_ahead LOOP
    month_start := this_month + make_interval(months => m);
    partition_name := 'events_' || to_char(month_start, 'YYYY_MM');
    CONTINUE WHEN month_start < covered_until OR to_regclass(partition_name) IS NOT NULL;
    -- Made apart and attached: ATTACH locks events only against other DDL (CREATE TABLE ...
    -- PARTITION OF would lock out ingest), and events_default while it checks it holds no row of
    -- the month. Attaching gives the table the indexes and triggers of events.
    BEGIN
      EXECUTE format('CREATE TABLE %I (LIKE events INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMPRESSION)',
                     partition_name);
      EXECUTE format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)', partition_name,
                     extract(epoch FROM month_start)::bigint * 1000000000,
                     extract(epoch FROM month_start + interval '1 month')::bigint * 1000000000);
      created := true;
    EXCEPTION WHEN check_violation THEN
      created := false;
    END;
    RETURN NEXT;
  END LOOP;
END $$;
DO $$
BEGIN
  EXECUTE format('ALTER FUNCTION chaukas_prepare_event_partitions(integer) SET search_path = %I, pg_temp', current_schema());
END $$;
REVOKE ALL ON FUNCTION chaukas_prepare_event_partitions(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION chaukas_prepare_event_partitions(integer) TO chaukas_app;

-- This month and the next two, as the server keeps them (partitions.ts).
SELECT chaukas_prepare_event_partitions(2);

-- Down Migration
-- Every row back in the one table that held the rows before: the monthly partitions' rows are
-- copied into it.
DROP FUNCTION chaukas_prepare_event_partitions(integer);
CREATE OR REPLACE FUNCTION chaukas_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'events' AND TG_OP = 'UPDATE' THEN
    IF OLD.purged_by IS NULL AND NEW.purged_by IS NOT NULL AND NEW.tenant_id = OLD.tenant_id
       AND NEW.event_id = OLD.event_id AND NEW.ts_ns = OLD.ts_ns AND NEW.stored_xid = OLD.stored_xid THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
DROP TABLE event_ids;
DO $$
DECLARE
  before text;
  index_name text;
BEGIN
  SELECT c.relname INTO STRICT before FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
  WHERE i.inhparent = 'events'::regclass AND c.relname LIKE 'events\_before\_%';
  EXECUTE format('ALTER TABLE events DETACH PARTITION %I', before);
  EXECUTE format('INSERT INTO %I SELECT * FROM events', before);
  DROP TABLE events;
  EXECUTE format('ALTER TABLE %I RENAME TO events', before);
  FOR index_name IN SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                    WHERE i.indrelid = 'events'::regclass LOOP
    EXECUTE format('ALTER INDEX %I RENAME TO %I', index_name, 'events' || substr(index_name, length(before) + 1));
  END LOOP;
END $$;
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ADD PRIMARY KEY (tenant_id, event_id);
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION chaukas_refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events FOR EACH STATEMENT EXECUTE FUNCTION chaukas_refuse_change();
GRANT SELECT, INSERT ON events TO chaukas_tenant;
GRANT UPDATE (project_id, session_id, trace_id, span_id, agent_id, type, status, severity, tags, search, payload,
              purged_by) ON events TO chaukas_tenant;
ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE events FORCE ROW LEVEL SECURITY;
CREATE POLICY events_tenant_isolation ON events
  USING (tenant_id = current_setting('chaukas.tenant_id', true) OR current_user = 'chaukas_all_tenants')
  WITH CHECK (tenant_id = current_setting('chaukas.tenant_id', true) OR current_user = 'chaukas_all_tenants');
