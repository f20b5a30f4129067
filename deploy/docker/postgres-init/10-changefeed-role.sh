#!/bin/bash
# Runs once, when the postgres container initialises an empty data volume:
# the change feed's role, with LOGIN and REPLICATION and nothing more (the
# publication belongs to the tables' owner, see docker-compose.yml).
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v password="${MILLRACE_CHANGEFEED_PG_PASSWORD:?docker-compose.yml passes it}" <<'SQL'
SELECT format('CREATE ROLE millrace_changefeed LOGIN REPLICATION PASSWORD %L', :'password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'millrace_changefeed') \gexec
SQL
