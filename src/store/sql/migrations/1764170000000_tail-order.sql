-- Up Migration

-- The live tail's order: each event row records the transaction that inserted it. A tail reads
-- rows past its cursor in (stored_xid, event_id) order, and only those of transactions below the
-- current snapshot's xmin: every such transaction has ended, so no row can later appear behind a
-- cursor (sequence values and timestamps commit out of order; see docs/adr/0014-live-tail.md).
-- The column is added without a default, so the table is not rewritten: rows stored before it
-- stay NULL and are never tailed. The default then applies to new rows only.
ALTER TABLE events ADD COLUMN stored_xid xid8;
ALTER TABLE events ALTER COLUMN stored_xid SET DEFAULT pg_current_xact_id();
CREATE INDEX events_tail_order ON events (tenant_id, stored_xid, event_id);

-- Down Migration
DROP INDEX events_tail_order;
ALTER TABLE events DROP COLUMN stored_xid;
