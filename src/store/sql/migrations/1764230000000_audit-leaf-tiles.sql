-- Up Migration

-- Leaves in tiles: one row holds up to 16 consecutive leaves of a tenant's log, never across a
-- multiple of 16, so a full tile is one stored level-4 node's leaves (ADR 0005). The integrator
-- appends queued events in (stored_xid, event_id) order, taking only those of transactions below
-- chaukas_log_horizon(): every such transaction has ended, so no later event can sort before one
-- already appended, and a tenant's log is in that order from here on. An event's leaf is then in
-- the last tile whose first key is not past the event's own (chaukas_log_leaf), without a row or
-- index entry per event. Leaves appended before this stay in audit_leaves, each with its row.
-- Events stored before the tail-order migration have no stored_xid: they count as xid 0.
ALTER TABLE ingest_queue ADD COLUMN stored_xid xid8;
-- Row-level security is forced on the owner too; these data steps are the owner's, on every tenant.
ALTER TABLE ingest_queue NO FORCE ROW LEVEL SECURITY;
ALTER TABLE events NO FORCE ROW LEVEL SECURITY;
UPDATE ingest_queue q SET stored_xid = e.stored_xid
FROM events e WHERE e.tenant_id = q.tenant_id AND e.ts_ns = q.ts_ns AND e.event_id = q.event_id;
ALTER TABLE events FORCE ROW LEVEL SECURITY;
ALTER TABLE ingest_queue FORCE ROW LEVEL SECURITY;
ALTER TABLE ingest_queue ALTER COLUMN stored_xid SET DEFAULT pg_current_xact_id();
-- The serving role cannot set the column: a queued key below those already appended would put
-- other events' leaves out of reach of their lookup.
REVOKE INSERT ON ingest_queue FROM chaukas_tenant;
GRANT INSERT (tenant_id, event_id, content_hash, project_id, session_id, type, ts_ns, to_log, status, severity,
              agent, model, input_tokens, output_tokens, total_tokens, cost, in_usage) ON ingest_queue TO chaukas_tenant;

-- The transaction id below which every transaction that could write this database has ended, as
-- the statement's snapshot sees them: its xmax, or the lowest transaction it sees in progress that
-- is not known to be another database's (those cannot write here). Unlike the snapshot's xmin,
-- other databases of the cluster do not hold it back.
CREATE FUNCTION chaukas_log_horizon() RETURNS xid8 LANGUAGE sql STABLE AS $$
  SELECT coalesce(min(running), pg_snapshot_xmax(pg_current_snapshot()))
  FROM pg_snapshot_xip(pg_current_snapshot()) AS running
  WHERE NOT EXISTS (SELECT FROM pg_stat_activity a WHERE a.backend_xid = running::xid
                    AND a.datid <> (SELECT oid FROM pg_database WHERE datname = current_database()))
$$;

-- content_hashes: the leaves' content hashes, 32 bytes each, in log order; hash_prev: the content
-- hash of the position before first_position (empty at position 0).
CREATE TABLE audit_leaf_tiles (
  tenant_id       text COLLATE "C" NOT NULL,
  first_position  bigint NOT NULL,
  first_xid       xid8 NOT NULL,
  first_event_id  text COLLATE "C" NOT NULL,
  event_ids       text[] COLLATE "C" NOT NULL,
  content_hashes  bytea NOT NULL,
  hash_prev       bytea NOT NULL,
  PRIMARY KEY (tenant_id, first_position)
);
CREATE INDEX audit_leaf_tiles_first_key ON audit_leaf_tiles (tenant_id, first_xid, first_event_id);

DO $$
BEGIN
  CREATE TRIGGER audit_leaf_tiles_append_only BEFORE UPDATE OR DELETE ON audit_leaf_tiles
    FOR EACH ROW EXECUTE FUNCTION chaukas_refuse_change('audit_leaf_tiles');
  CREATE TRIGGER audit_leaf_tiles_no_truncate BEFORE TRUNCATE ON audit_leaf_tiles
    FOR EACH STATEMENT EXECUTE FUNCTION chaukas_refuse_change('audit_leaf_tiles');
  GRANT SELECT, INSERT ON audit_leaf_tiles TO chaukas_tenant;
  ALTER TABLE audit_leaf_tiles ENABLE ROW LEVEL SECURITY;
  ALTER TABLE audit_leaf_tiles FORCE ROW LEVEL SECURITY;
  CREATE POLICY audit_leaf_tiles_tenant_isolation ON audit_leaf_tiles
    USING (tenant_id = current_setting('chaukas.tenant_id', true) OR current_user = 'chaukas_all_tenants')
    WITH CHECK (tenant_id = current_setting('chaukas.tenant_id', true) OR current_user = 'chaukas_all_tenants');
END $$;

-- Leaf i (from 1) of a tile.
CREATE FUNCTION chaukas_tile_leaf(tile audit_leaf_tiles, i integer)
RETURNS TABLE ("position" bigint, event_id text, content_hash bytea, hash_prev bytea)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT tile.first_position + i - 1, tile.event_ids[i], substring(tile.content_hashes FROM i * 32 - 31 FOR 32),
         CASE WHEN i = 1 THEN tile.hash_prev ELSE substring(tile.content_hashes FROM i * 32 - 63 FOR 32) END
$$;

-- A tile's leaves as rows.
CREATE FUNCTION chaukas_tile_leaves(tile audit_leaf_tiles)
RETURNS TABLE ("position" bigint, event_id text, content_hash bytea, hash_prev bytea)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT leaf.* FROM generate_series(1, cardinality(tile.event_ids)) AS i CROSS JOIN LATERAL chaukas_tile_leaf(tile, i) leaf
$$;

-- An event's leaf, given its key: from audit_leaves, or from the one tile that can hold it, the last
-- whose first key is not past the event's: the last with the event's first_xid, else the last with
-- a lower one (xid 0 for a NULL stored_xid), each an index scan of plain comparisons (under
-- row-level security coalesce() on the key would keep it out of the index). No row: the event is
-- not in its log (yet).
CREATE FUNCTION chaukas_log_leaf(tenant text, stored_xid xid8, event text)
RETURNS TABLE ("position" bigint, content_hash bytea, hash_prev bytea)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  (SELECT l.position, l.content_hash, l.hash_prev FROM audit_leaves l
   WHERE l.tenant_id = tenant AND l.event_id = event COLLATE "C")
  UNION ALL
  (SELECT leaf.position, leaf.content_hash, leaf.hash_prev
   FROM (SELECT candidate.tile FROM (
           (SELECT t AS tile, t.first_xid, t.first_event_id FROM audit_leaf_tiles t
            WHERE t.tenant_id = tenant AND t.first_xid = stored_xid AND t.first_event_id <= event COLLATE "C"
            ORDER BY t.first_event_id DESC LIMIT 1)
           UNION ALL
           (SELECT t, t.first_xid, t.first_event_id FROM audit_leaf_tiles t
            WHERE t.tenant_id = tenant AND t.first_xid < stored_xid
            ORDER BY t.first_xid DESC, t.first_event_id DESC LIMIT 1)
           UNION ALL
           (SELECT t, t.first_xid, t.first_event_id FROM audit_leaf_tiles t
            WHERE stored_xid IS NULL AND t.tenant_id = tenant AND t.first_xid = '0' AND t.first_event_id <= event COLLATE "C"
            ORDER BY t.first_event_id DESC LIMIT 1)) candidate
         ORDER BY candidate.first_xid DESC, candidate.first_event_id DESC LIMIT 1) last_tile
   CROSS JOIN LATERAL array_position((last_tile.tile).event_ids, event COLLATE "C") AS i
   CROSS JOIN LATERAL chaukas_tile_leaf(last_tile.tile, i) leaf
   WHERE i IS NOT NULL)
  LIMIT 1
$$;

-- Down Migration
-- The tiles' leaves become rows of audit_leaves again, as the log was before.
ALTER TABLE audit_leaf_tiles NO FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_leaves NO FORCE ROW LEVEL SECURITY;
INSERT INTO audit_leaves (tenant_id, position, event_id, content_hash, hash_prev)
SELECT t.tenant_id, leaf.position, leaf.event_id, leaf.content_hash, leaf.hash_prev
FROM audit_leaf_tiles t CROSS JOIN LATERAL chaukas_tile_leaves(t) leaf;
ALTER TABLE audit_leaves FORCE ROW LEVEL SECURITY;
REVOKE INSERT ON ingest_queue FROM chaukas_tenant;
GRANT INSERT ON ingest_queue TO chaukas_tenant;
DROP FUNCTION chaukas_log_leaf(text, xid8, text);
DROP FUNCTION chaukas_tile_leaves(audit_leaf_tiles);
DROP FUNCTION chaukas_tile_leaf(audit_leaf_tiles, integer);
DROP FUNCTION chaukas_log_horizon();
DROP TABLE audit_leaf_tiles;
ALTER TABLE ingest_queue DROP COLUMN stored_xid;
