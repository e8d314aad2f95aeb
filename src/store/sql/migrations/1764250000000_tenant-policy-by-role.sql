-- Up Migration

-- Each tenant table's isolation becomes two policies. `<table>_tenant_isolation`, for every role,
-- admits the rows of the tenant set for the transaction; `<table>_all_tenants`, for
-- chaukas_all_tenants and the roles that inherit its rights, admits every row to the role
-- chaukas_all_tenants itself, named by current_user as before. Permissive policies add up, so each
-- role sees what the one policy `tenant_id = setting OR current_user = 'chaukas_all_tenants'` let
-- it see. For chaukas_tenant, which requests run as, the condition is now the equality alone:
-- PostgreSQL then counts the tenant once in its estimates, not twice (the statement's condition
-- and the policy's), and checks the setting once per statement, not on each row
-- (docs/adr/0040-tenant-isolation-by-role.md).
DO $$
DECLARE
  t text;
BEGIN
  FOR t IN SELECT c.relname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
           WHERE c.relnamespace = current_schema()::regnamespace AND p.polname = c.relname || '_tenant_isolation' LOOP
    EXECUTE format($p$ALTER POLICY %I ON %I
      USING (tenant_id = current_setting('chaukas.tenant_id', true))
      WITH CHECK (tenant_id = current_setting('chaukas.tenant_id', true))$p$,
      t || '_tenant_isolation', t);
    EXECUTE format($p$CREATE POLICY %I ON %I TO chaukas_all_tenants
      USING (current_user = 'chaukas_all_tenants')
      WITH CHECK (current_user = 'chaukas_all_tenants')$p$,
      t || '_all_tenants', t);
  END LOOP;
END $$;

-- Down Migration
DO $$
DECLARE
  t text;
BEGIN
  FOR t IN SELECT c.relname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
           WHERE c.relnamespace = current_schema()::regnamespace AND p.polname = c.relname || '_tenant_isolation' LOOP
    EXECUTE format('DROP POLICY IF EXISTS %I ON %I', t || '_all_tenants', t);
    EXECUTE format($p$ALTER POLICY %I ON %I
      USING (tenant_id = current_setting('chaukas.tenant_id', true) OR current_user = 'chaukas_all_tenants')
      WITH CHECK (tenant_id = current_setting('chaukas.tenant_id', true) OR current_user = 'chaukas_all_tenants')$p$,
      t || '_tenant_isolation', t);
  END LOOP;
END $$;
