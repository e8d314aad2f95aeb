/**
 * `WITH leaves AS (...)`: every leaf of every log as a row (tenant_id, position, event_id), the
 * one-row leaves of audit_leaves and those in tiles alike, for a test to count and compare.
 */
export const WITH_LOG_LEAVES = `WITH leaves AS (
  SELECT tenant_id, position, event_id FROM audit_leaves
  UNION ALL
  SELECT t.tenant_id, leaf.position, leaf.event_id FROM audit_leaf_tiles t CROSS JOIN LATERAL chaukas_tile_leaves(t) leaf)`;
