#!/bin/bash
# Runs once, when the postgres container initialises an empty data volume:
# millrace-api's two roles, with LOGIN and nothing more, and the passwords the
# one-shot secrets wrote (deploy/docker/secrets.sh). The one-shot api-grant
# step of docker-compose.yml (`millrace api grant`, as the tables' owner) then
# gives the reader SELECT on the views and the catalog, and the admin writes on
# the catalog only (docs/api.md, "Roles").
set -euo pipefail
dir=${MILLRACE_SECRETS_DIR:?docker-compose.yml sets it}
# Assignments, so that a missing file stops the script (set -e).
reader_password=$(<"$dir/MILLRACE_API_PG_PASSWORD")
admin_password=$(<"$dir/MILLRACE_API_ADMIN_PG_PASSWORD")
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v reader_password="$reader_password" -v admin_password="$admin_password" <<'SQL'
SELECT format('CREATE ROLE millrace_api LOGIN PASSWORD %L', :'reader_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'millrace_api') \gexec
SELECT format('CREATE ROLE millrace_api_admin LOGIN PASSWORD %L', :'admin_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'millrace_api_admin') \gexec
SQL
