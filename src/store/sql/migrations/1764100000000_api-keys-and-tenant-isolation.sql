-- Up Migration

-- API keys. Only a hash of each key's secret is kept; `id` is the key's public part.
CREATE TABLE api_keys (
  id            text COLLATE "C" PRIMARY KEY,
  tenant_id     text COLLATE "C" NOT NULL,
  role          text NOT NULL CHECK (role IN ('ingest', 'read', 'admin')),
  -- Empty: every project of the tenant.
  projects      text[] NOT NULL DEFAULT '{}',
  secret_hash   bytea NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  revoked_at    timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);

-- Tenant isolation in the database itself, beneath the application's own checks: statements on
-- events run as role chaukas_tenant with chaukas.tenant_id set for their transaction, and this
-- policy hides and refuses every other tenant's rows whatever the SQL says. Only work that is
-- not tenant-scoped by design (the local CLI, --insecure-no-auth) sets chaukas.all_tenants
-- (until the serving-role migration replaces that setting with a role).
-- Roles are cluster-wide: one already in place (created by an administrator, or by another
-- database of this cluster, maybe at this very moment) is used as it is.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'chaukas_tenant') THEN
    CREATE ROLE chaukas_tenant NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END $$;
DO $$
BEGIN
  -- From PostgreSQL 16 a CREATEROLE owner is made a member of each role it creates, with ADMIN but
  -- without SET: only SET lets it take the role.
  IF NOT pg_has_role('chaukas_tenant', CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'SET' ELSE 'MEMBER' END) THEN
    GRANT chaukas_tenant TO CURRENT_USER;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END $$;
GRANT SELECT, INSERT ON events TO chaukas_tenant;
ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE events FORCE ROW LEVEL SECURITY;
CREATE POLICY events_tenant_isolation ON events
  USING (tenant_id = current_setting('chaukas.tenant_id', true)
         OR current_setting('chaukas.all_tenants', true) = 'on')
  WITH CHECK (tenant_id = current_setting('chaukas.tenant_id', true)
              OR current_setting('chaukas.all_tenants', true) = 'on');

-- Down Migration
DROP POLICY events_tenant_isolation ON events;
ALTER TABLE events NO FORCE ROW LEVEL SECURITY;
ALTER TABLE events DISABLE ROW LEVEL SECURITY;
REVOKE SELECT, INSERT ON events FROM chaukas_tenant;
DROP TABLE api_keys;
