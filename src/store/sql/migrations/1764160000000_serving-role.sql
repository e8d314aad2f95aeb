-- Up Migration

-- The role that owns the schema (the one these migrations run as) can alter tables, disable or
-- drop the write-once triggers and switch row-level security off. The server serves requests as
-- a member of chaukas_app instead, which owns nothing: it reads and writes rows as the code does,
-- and changes no table (see docs/deployment.md).
--
-- Work that spans tenants by design (the integrator and the checkpointer, the local CLI,
-- --insecure-no-auth) runs as chaukas_all_tenants, which the policies below recognise by
-- current_user: only a role granted it can take that scope (SET ROLE), where before any session
-- could set the setting chaukas.all_tenants.
--
-- Roles and memberships are cluster-wide: one already in place (created by an administrator, or
-- by another database of the cluster) is left as it is, and another database migrating at the
-- same moment may create the same ones first.
DO $$
DECLARE
  r text;
  grant_ text[];
BEGIN
  FOREACH r IN ARRAY ARRAY['chaukas_all_tenants', 'chaukas_app'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', r);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
      END;
    END IF;
  END LOOP;
  -- {role, member}: chaukas_all_tenants has chaukas_tenant's table privileges; the serving role
  -- may take either scope; the owner keeps running the server alone (with a warning at start).
  FOREACH grant_ SLICE 1 IN ARRAY ARRAY[
    ['chaukas_tenant', 'chaukas_all_tenants'],
    ['chaukas_tenant', 'chaukas_app'],
    ['chaukas_all_tenants', 'chaukas_app'],
    ['chaukas_all_tenants', current_user::text]
  ] LOOP
    -- From PostgreSQL 16 a CREATEROLE owner is made a member of each role it creates, with ADMIN
    -- but without SET: only SET lets a member take the role.
    IF NOT pg_has_role(grant_[2], grant_[1], CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'SET' ELSE 'MEMBER' END) THEN
      BEGIN
        EXECUTE format('GRANT %I TO %I', grant_[1], grant_[2]);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
      END;
    END IF;
  END LOOP;
END $$;

-- What the server does outside a tenant's scope: API keys (created, looked up, their use recorded,
-- revoked), the shared secrets, and the check at start that the schema is up to date. Everything
-- else it reaches as chaukas_tenant or chaukas_all_tenants (granted in the earlier migrations).
GRANT SELECT, INSERT ON api_keys, server_secrets TO chaukas_app;
GRANT UPDATE (last_used_at, revoked_at) ON api_keys TO chaukas_app;
GRANT SELECT ON schema_migrations TO chaukas_app;

-- Every tenant isolation policy (one per table with a tenant_id, see the earlier migrations).
DO $$
DECLARE
  t text;
BEGIN
  FOR t IN SELECT c.relname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
           WHERE c.relnamespace = current_schema()::regnamespace AND p.polname = c.relname || '_tenant_isolation' LOOP
    EXECUTE format($p$ALTER POLICY %I ON %I
      USING (tenant_id = current_setting('chaukas.tenant_id', true) OR current_user = 'chaukas_all_tenants')
      WITH CHECK (tenant_id = current_setting('chaukas.tenant_id', true) OR current_user = 'chaukas_all_tenants')$p$,
      t || '_tenant_isolation', t);
  END LOOP;
END $$;

-- Down Migration
DO $$
DECLARE
  t text;
BEGIN
  FOR t IN SELECT c.relname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
           WHERE c.relnamespace = current_schema()::regnamespace AND p.polname = c.relname || '_tenant_isolation' LOOP
    EXECUTE format($p$ALTER POLICY %I ON %I
      USING (tenant_id = current_setting('chaukas.tenant_id', true) OR current_setting('chaukas.all_tenants', true) = 'on')
      WITH CHECK (tenant_id = current_setting('chaukas.tenant_id', true) OR current_setting('chaukas.all_tenants', true) = 'on')$p$,
      t || '_tenant_isolation', t);
  END LOOP;
END $$;
REVOKE ALL ON api_keys, server_secrets, schema_migrations FROM chaukas_app;
-- The roles stay: other databases of the cluster may use them.
