-- Up Migration

-- The audit trail: one append-only Merkle log per tenant (RFC 6962 hashing). The transaction
-- that stores events also queues them in audit_pending; an integrator (one at a time per
-- database) moves queued events into their tenants' logs, as Tessera does (see
-- sql-audit-log.ts). Besides the queue, only audit_heads ever changes.

-- Events stored but not yet in their log. No index: it is only ever read whole, in chunks.
CREATE TABLE audit_pending (
  tenant_id     text COLLATE "C" NOT NULL,
  event_id      text COLLATE "C" NOT NULL,
  content_hash  bytea NOT NULL
);

-- Each tenant's log: its size, the hashes of the perfect subtrees that cover it, largest first
-- (a compact range, 32 bytes each), and its last leaf's content hash: all an append needs.
-- The integrator locks the rows it appends to, so positions are handed out once, without gaps.
CREATE TABLE audit_heads (
  tenant_id          text COLLATE "C" PRIMARY KEY,
  size               bigint NOT NULL,
  compact_range      bytea NOT NULL,
  last_content_hash  bytea NOT NULL
);

-- One leaf per stored event. The leaf data is content_hash, the SHA-256 of the event's canonical
-- encoding; hash_prev is the content_hash of the previous position (empty at position 0). They
-- stay even if an event's content is one day purged, so old proofs keep verifying.
CREATE TABLE audit_leaves (
  tenant_id     text COLLATE "C" NOT NULL,
  position      bigint NOT NULL,
  event_id      text COLLATE "C" NOT NULL,
  content_hash  bytea NOT NULL,
  hash_prev     bytea NOT NULL,
  PRIMARY KEY (tenant_id, position),
  UNIQUE (tenant_id, event_id)
);

-- Hashes of the perfect subtrees of 16 leaves and more (level >= 4): a proof reads O(log n) of
-- them plus at most 15 leaves per lower subtree, at a storage cost of about 1/8 row per event.
CREATE TABLE audit_nodes (
  tenant_id  text COLLATE "C" NOT NULL,
  level      smallint NOT NULL,
  index      bigint NOT NULL,
  hash       bytea NOT NULL,
  PRIMARY KEY (tenant_id, level, index)
);

-- Signed tree heads (C2SP checkpoints), at most one per size.
CREATE TABLE audit_checkpoints (
  tenant_id   text COLLATE "C" NOT NULL,
  size        bigint NOT NULL,
  root_hash   bytea NOT NULL,
  note        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, size)
);

-- Write once: stored events and the log refuse UPDATE, DELETE and TRUNCATE, whoever asks.
-- (INSERT ... ON CONFLICT DO NOTHING, the only write the server makes, fires none of these.)
CREATE FUNCTION chaukas_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['events', 'audit_leaves', 'audit_nodes', 'audit_checkpoints'] LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION chaukas_refuse_change()',
                   t || '_append_only', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION chaukas_refuse_change()',
                   t || '_no_truncate', t);
  END LOOP;
END $$;

-- The same tenant isolation as events (see the api-keys-and-tenant-isolation migration).
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['audit_pending', 'audit_heads', 'audit_leaves', 'audit_nodes', 'audit_checkpoints'] LOOP
    EXECUTE format('GRANT SELECT, INSERT ON %I TO chaukas_tenant', t);
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY %I ON %I
      USING (tenant_id = current_setting('chaukas.tenant_id', true)
             OR current_setting('chaukas.all_tenants', true) = 'on')
      WITH CHECK (tenant_id = current_setting('chaukas.tenant_id', true)
                  OR current_setting('chaukas.all_tenants', true) = 'on')$p$, t || '_tenant_isolation', t);
  END LOOP;
END $$;
GRANT UPDATE ON audit_heads TO chaukas_tenant;
GRANT DELETE ON audit_pending TO chaukas_tenant;

-- Down Migration
DROP TABLE audit_checkpoints;
DROP TABLE audit_nodes;
DROP TABLE audit_leaves;
DROP TABLE audit_heads;
DROP TABLE audit_pending;
DROP TRIGGER events_append_only ON events;
DROP TRIGGER events_no_truncate ON events;
DROP FUNCTION chaukas_refuse_change();
