-- Up Migration

-- A tile's first key, (stored_xid, event_id), as one bytea that sorts the same way: the xid's 8
-- bytes big-endian, then the event id's bytes in the database's encoding (byte order is collation
-- "C"'s, the log's order). Finding an event's tile is then one index probe, the last tile whose
-- key is not past the event's, where it took two (the event's xid, then a lower one) merged.
CREATE FUNCTION chaukas_log_key(stored_xid xid8, event text) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT int8send(coalesce(stored_xid, '0')::text::bigint) || convert_to(event, getdatabaseencoding())
$$;

ALTER TABLE audit_leaf_tiles ADD COLUMN first_key bytea;
-- The owner's data step, on every tenant, past the write-once trigger.
ALTER TABLE audit_leaf_tiles NO FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_leaf_tiles DISABLE TRIGGER audit_leaf_tiles_append_only;
UPDATE audit_leaf_tiles SET first_key = chaukas_log_key(first_xid, first_event_id);
ALTER TABLE audit_leaf_tiles ENABLE TRIGGER audit_leaf_tiles_append_only;
ALTER TABLE audit_leaf_tiles FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_leaf_tiles ALTER COLUMN first_key SET NOT NULL;
DROP INDEX audit_leaf_tiles_first_key;
CREATE INDEX audit_leaf_tiles_first_key ON audit_leaf_tiles (tenant_id, first_key);

-- An event's leaf: from audit_leaves, or from the last tile whose first key is not past the
-- event's. The event's key is computed in a subquery of its own (OFFSET 0 keeps it one): compared
-- as a value there, under row-level security the probe is an index condition; written out in the
-- comparison, its functions (not leakproof) would make it a filter on every tile of the tenant.
CREATE OR REPLACE FUNCTION chaukas_log_leaf(tenant text, stored_xid xid8, event text)
RETURNS TABLE ("position" bigint, content_hash bytea, hash_prev bytea)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  (SELECT l.position, l.content_hash, l.hash_prev FROM audit_leaves l
   WHERE l.tenant_id = tenant AND l.event_id = event COLLATE "C")
  UNION ALL
  (SELECT leaf.position, leaf.content_hash, leaf.hash_prev
   FROM (SELECT chaukas_log_key(stored_xid, event) AS log_key OFFSET 0) k
   CROSS JOIN LATERAL (SELECT t AS tile FROM audit_leaf_tiles t
                       WHERE t.tenant_id = tenant AND t.first_key <= k.log_key
                       ORDER BY t.first_key DESC LIMIT 1) last_tile
   CROSS JOIN LATERAL array_position((last_tile.tile).event_ids, event COLLATE "C") AS i
   CROSS JOIN LATERAL chaukas_tile_leaf(last_tile.tile, i) leaf
   WHERE i IS NOT NULL)
  LIMIT 1
$$;

-- Down Migration
CREATE OR REPLACE FUNCTION chaukas_log_leaf(tenant text, stored_xid xid8, event text)
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
DROP INDEX audit_leaf_tiles_first_key;
CREATE INDEX audit_leaf_tiles_first_key ON audit_leaf_tiles (tenant_id, first_xid, first_event_id);
ALTER TABLE audit_leaf_tiles DROP COLUMN first_key;
DROP FUNCTION chaukas_log_key(xid8, text);
