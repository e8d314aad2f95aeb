-- Up Migration

-- The keys that sign (or signed) this database's checkpoints, as C2SP verifier keys, each with
-- when it began and stopped signing (ADR 0019). One signs now (valid_until NULL); a rotation
-- stops it and adds the next in one transaction. Old checkpoints keep verifying with the key that
-- signed them, so no key is ever removed.
CREATE TABLE audit_signing_keys (
  verifier_key  text COLLATE "C" PRIMARY KEY,
  valid_from    timestamptz NOT NULL DEFAULT now(),
  valid_until   timestamptz,
  CHECK (valid_until IS NULL OR valid_until >= valid_from)
);
CREATE UNIQUE INDEX audit_signing_keys_one_current ON audit_signing_keys ((true)) WHERE valid_until IS NULL;

-- The key the database recorded before keys could rotate is the one that signs now.
INSERT INTO audit_signing_keys (verifier_key)
SELECT convert_from(value, 'UTF8') FROM server_secrets WHERE name = 'audit-verifier-key';

GRANT SELECT, INSERT ON audit_signing_keys TO chaukas_app;
GRANT UPDATE (valid_until) ON audit_signing_keys TO chaukas_app;

-- Down Migration
DROP TABLE audit_signing_keys;
