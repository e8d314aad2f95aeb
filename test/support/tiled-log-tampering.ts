/**
 * SQL a tamperer would run on a tenant's log stored in tiles (audit_leaf_tiles: up to 16 leaves a
 * row, see the audit-leaf-tiles migration), to be run with the write-once triggers off (tamperWith).
 * Each function finds the tile holding a position p as the one with
 * first_position <= p < first_position + cardinality(event_ids).
 */

/** A string as an SQL literal. */
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** The tile of `tenantId` holding position `p` (an SQL expression), as a WHERE condition on alias `t`. */
const holds = (tenantId: string, p: string) =>
  `t.tenant_id = ${literal(tenantId)} AND t.first_position <= ${p} AND ${p} < t.first_position + cardinality(t.event_ids)`;

/**
 * Deletes the leaf at `position`, the positions after it unchanged: its tile is split into the
 * leaves before it (the tile's first position and hash_prev) and those after it, a tile of their
 * own from position + 1 whose hash_prev is the deleted leaf's content hash (as the next leaf's was).
 */
export function deleteTiledLeaf(tenantId: string, position: number): string {
  // i: the deleted leaf's index in its tile, from 1. The tail's first key is its first event's.
  return `
    WITH tile AS (
      DELETE FROM audit_leaf_tiles t WHERE ${holds(tenantId, String(position))}
      RETURNING t.*, (${position} - t.first_position)::int + 1 AS i
    )
    INSERT INTO audit_leaf_tiles (tenant_id, first_position, first_xid, first_event_id, first_key, event_ids,
                                  content_hashes, hash_prev)
    SELECT tenant_id, first_position, first_xid, first_event_id, first_key, event_ids[:i - 1],
           substring(content_hashes FOR (i - 1) * 32), hash_prev
    FROM tile WHERE i > 1
    UNION ALL
    SELECT tenant_id, ${position} + 1, tail.first_xid, event_ids[i + 1], chaukas_log_key(tail.first_xid, event_ids[i + 1]),
           event_ids[i + 1:], substring(content_hashes FROM i * 32 + 1), substring(content_hashes FROM i * 32 - 31 FOR 32)
    FROM tile CROSS JOIN LATERAL (
      SELECT coalesce((SELECT coalesce(e.stored_xid, '0') FROM events e
                       WHERE e.tenant_id = tile.tenant_id AND e.event_id = tile.event_ids[tile.i + 1]), tile.first_xid)
    ) AS tail(first_xid)
    WHERE i < cardinality(event_ids);`;
}

/**
 * Exchanges the event ids and content hashes of the leaves at positions `a` and `b` (each tile's
 * first_event_id and first_key following its first leaf); every hash_prev stays as stored.
 */
export function swapTiledLeaves(tenantId: string, a: number, b: number): string {
  return `
    WITH leaves AS (
      SELECT t.first_position AS tile, l.position, l.event_id, l.content_hash
      FROM audit_leaf_tiles t CROSS JOIN LATERAL chaukas_tile_leaves(t) l
      WHERE EXISTS (SELECT FROM unnest(ARRAY[${a}, ${b}]::int8[]) AS p(p) WHERE ${holds(tenantId, "p.p")})
    ), swapped AS (
      SELECT l.tile, l.position, coalesce(o.event_id, l.event_id) AS event_id,
             coalesce(o.content_hash, l.content_hash) AS content_hash
      FROM leaves l LEFT JOIN leaves o ON (l.position, o.position) IN ((${a}, ${b}), (${b}, ${a}))
    ), tiles AS (
      SELECT tile, array_agg(event_id ORDER BY position) AS event_ids,
             string_agg(content_hash, ''::bytea ORDER BY position) AS content_hashes
      FROM swapped GROUP BY tile
    )
    UPDATE audit_leaf_tiles t SET event_ids = s.event_ids, first_event_id = s.event_ids[1],
                                  first_key = chaukas_log_key(t.first_xid, s.event_ids[1]), content_hashes = s.content_hashes
    FROM tiles s WHERE t.tenant_id = ${literal(tenantId)} AND t.first_position = s.tile;`;
}

/**
 * Removes the leaves at `size` and beyond with their events: tiles wholly past it are deleted, a
 * tile straddling it keeps its leaves below it.
 */
export function removeTiledLeavesFrom(tenantId: string, size: number): string {
  const tenant = literal(tenantId);
  return `
    DELETE FROM events e USING audit_leaf_tiles t CROSS JOIN LATERAL chaukas_tile_leaves(t) l
    WHERE t.tenant_id = ${tenant} AND t.first_position + cardinality(t.event_ids) > ${size} AND l.position >= ${size}
      AND e.tenant_id = ${tenant} AND e.event_id = l.event_id;
    DELETE FROM audit_leaf_tiles WHERE tenant_id = ${tenant} AND first_position >= ${size};
    UPDATE audit_leaf_tiles SET event_ids = event_ids[:(${size} - first_position)::int],
           content_hashes = substring(content_hashes FOR (${size} - first_position)::int * 32)
    WHERE tenant_id = ${tenant} AND first_position < ${size} AND ${size} < first_position + cardinality(event_ids);`;
}
