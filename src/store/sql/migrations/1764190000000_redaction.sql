-- Up Migration

-- Redaction at ingest (docs/redaction.md). Every version of a tenant's rules is a row, never
-- changed: the newest is in force, the others are its history (who set each, and when).
CREATE TABLE redaction_rules (
  tenant_id   text COLLATE "C" NOT NULL,
  version     integer NOT NULL CHECK (version > 0),
  rules       jsonb NOT NULL,
  changed_by  text NOT NULL,
  changed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, version)
);

-- Each tenant's key for the hash method (HMAC-SHA256), created on first use; salt_id names it in
-- RedactionInfo.
CREATE TABLE redaction_secrets (
  tenant_id   text COLLATE "C" PRIMARY KEY,
  salt_id     text NOT NULL,
  secret      bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Read and added to in the tenant's scope, as events are; neither is ever updated or deleted.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['redaction_rules', 'redaction_secrets'] LOOP
    EXECUTE format('GRANT SELECT, INSERT ON %I TO chaukas_tenant', t);
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY %I ON %I
      USING (tenant_id = current_setting('chaukas.tenant_id', true) OR current_user = 'chaukas_all_tenants')
      WITH CHECK (tenant_id = current_setting('chaukas.tenant_id', true) OR current_user = 'chaukas_all_tenants')$p$,
      t || '_tenant_isolation', t);
  END LOOP;
END $$;

-- Down Migration
DROP TABLE redaction_secrets;
DROP TABLE redaction_rules;
