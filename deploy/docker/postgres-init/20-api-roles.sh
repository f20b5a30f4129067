#!/bin/bash
# Runs once, when the postgres container initialises an empty data volume:
# millrace-api's two roles, with LOGIN and nothing more. The one-shot api-grant
# step of docker-compose.yml (`millrace api grant`, as the tables' owner) then
# gives the reader SELECT on the views and the catalog, and the admin writes on
# the catalog only (docs/api.md, "Roles").
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v reader_password="${MILLRACE_API_PG_PASSWORD:?docker-compose.yml passes it}" \
  -v admin_password="${MILLRACE_API_ADMIN_PG_PASSWORD:?docker-compose.yml passes it}" <<'SQL'
SELECT format('CREATE ROLE millrace_api LOGIN PASSWORD %L', :'reader_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'millrace_api') \gexec
SELECT format('CREATE ROLE millrace_api_admin LOGIN PASSWORD %L', :'admin_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'millrace_api_admin') \gexec
SQL
