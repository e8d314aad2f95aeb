-- Up Migration

-- Where the citus extension is installed (docs/scaling.md), the small global tables become
-- reference tables: a copy on every worker, so a statement of a distributed table can join or
-- check them on its own shard. Everywhere else (plain PostgreSQL, PGlite) this does nothing.
-- The tables of tenants' rows are distributed by the operator (create_distributed_table), not
-- here: that copies every row, and when to pay for it is theirs to choose.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
    PERFORM create_reference_table('api_keys');
    PERFORM create_reference_table('server_secrets');
    PERFORM create_reference_table('audit_signing_keys');
  END IF;
END
$$;

-- Down Migration
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
    PERFORM undistribute_table('api_keys');
    PERFORM undistribute_table('server_secrets');
    PERFORM undistribute_table('audit_signing_keys');
  END IF;
END
$$;
