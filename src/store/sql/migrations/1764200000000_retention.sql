-- Up Migration

-- Retention and erasure (ADR 0019). A purge replaces an event's payload with a stub (its ids, type,
-- status and time, and why its content went) and names, in purged_by, the purge record that did
-- it: an event of its own, appended to the tenant's log like any other. The event's leaf
-- (position, content hash, hash_prev) is untouched, so every proof still verifies.

-- Retention periods in days, per tenant (project_id '') and per project (which overrides it).
CREATE TABLE retention_policies (
  tenant_id   text COLLATE "C" NOT NULL,
  project_id  text COLLATE "C" NOT NULL DEFAULT '',
  days        integer NOT NULL CHECK (days > 0),
  set_by      text NOT NULL,
  set_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, project_id)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON retention_policies TO chaukas_tenant;
ALTER TABLE retention_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE retention_policies FORCE ROW LEVEL SECURITY;
CREATE POLICY retention_policies_tenant_isolation ON retention_policies
  USING (tenant_id = current_setting('chaukas.tenant_id', true) OR current_user = 'chaukas_all_tenants')
  WITH CHECK (tenant_id = current_setting('chaukas.tenant_id', true) OR current_user = 'chaukas_all_tenants');

-- The purge record that took the event's content; NULL while it is intact.
ALTER TABLE events ADD COLUMN purged_by text COLLATE "C";
-- What a retention run looks for: the tenant's intact events, oldest first.
CREATE INDEX events_intact_by_time ON events (tenant_id, ts_ns) WHERE purged_by IS NULL;

-- Write once, but for one change: an intact event may be purged, once. Its tenant, id and time
-- stay; what it became is for `chaukas verify` to check against the purge record it names.
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
GRANT UPDATE (project_id, session_id, trace_id, span_id, agent_id, type, status, severity, tags, search, payload,
              purged_by) ON events TO chaukas_tenant;

-- Down Migration
CREATE OR REPLACE FUNCTION chaukas_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
REVOKE UPDATE ON events FROM chaukas_tenant;
DROP INDEX events_intact_by_time;
ALTER TABLE events DROP COLUMN purged_by;
DROP TABLE retention_policies;
