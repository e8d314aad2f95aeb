#!/bin/sh
# Run by the postgres image when it creates its cluster (/docker-entrypoint-initdb.d), as
# POSTGRES_USER: a superuser, which owns the Chaukas schema and migrates it (the compose file's
# `migrate` service). This creates the login role the server serves as, CHAUKAS_SERVER_ROLE
# (chaukas_server unless set), a member of chaukas_app: the migrations give chaukas_app its
# privileges, and it owns nothing (see docs/deployment.md). For a cluster created before, run it
# once by hand: docker compose exec postgres sh /docker-entrypoint-initdb.d/10-chaukas-server-role.sh
set -eu
psql -v ON_ERROR_STOP=1 -v role="${CHAUKAS_SERVER_ROLE:-chaukas_server}" -v password="$CHAUKAS_SERVER_PASSWORD" \
  --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
SELECT 'CREATE ROLE chaukas_app NOLOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'chaukas_app') \gexec
CREATE ROLE :"role" LOGIN PASSWORD :'password' IN ROLE chaukas_app;
SQL
