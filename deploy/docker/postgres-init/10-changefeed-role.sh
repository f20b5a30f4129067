#!/bin/bash
# Runs once, when the postgres container initialises an empty data volume:
# the change feed's role, with LOGIN and REPLICATION and nothing more (the
# publication belongs to the tables' owner, see docker-compose.yml), and the
# password the one-shot secrets wrote (deploy/docker/secrets.sh).
set -euo pipefail
dir=${MILLRACE_SECRETS_DIR:?docker-compose.yml sets it}
# An assignment, so that a missing file stops the script (set -e).
password=$(<"$dir/MILLRACE_CHANGEFEED_PG_PASSWORD")
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v password="$password" <<'SQL'
SELECT format('CREATE ROLE millrace_changefeed LOGIN REPLICATION PASSWORD %L', :'password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'millrace_changefeed') \gexec
SQL
