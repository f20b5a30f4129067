#!/bin/bash
# Runs once, when the postgres container initialises an empty data volume:
# a role for each consumer-group service, with LOGIN and nothing more. The
# one-shot grant step of docker-compose.yml (`millrace grant`, as the
# tables' owner) then gives each exactly the DML its tables need
# (docs/operations.md, "Database roles").
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v sink_password="${MILLRACE_SINK_PG_PASSWORD:?docker-compose.yml passes it}" \
  -v aggregator_password="${MILLRACE_AGGREGATOR_PG_PASSWORD:?docker-compose.yml passes it}" \
  -v archiver_password="${MILLRACE_ARCHIVER_PG_PASSWORD:?docker-compose.yml passes it}" \
  -v webhooks_password="${MILLRACE_WEBHOOKS_PG_PASSWORD:?docker-compose.yml passes it}" \
  -v cache_password="${MILLRACE_CACHE_PG_PASSWORD:?docker-compose.yml passes it}" <<'SQL'
SELECT format('CREATE ROLE millrace_sink LOGIN PASSWORD %L', :'sink_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'millrace_sink') \gexec
SELECT format('CREATE ROLE millrace_aggregator LOGIN PASSWORD %L', :'aggregator_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'millrace_aggregator') \gexec
SELECT format('CREATE ROLE millrace_archiver LOGIN PASSWORD %L', :'archiver_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'millrace_archiver') \gexec
SELECT format('CREATE ROLE millrace_webhooks LOGIN PASSWORD %L', :'webhooks_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'millrace_webhooks') \gexec
SELECT format('CREATE ROLE millrace_cache LOGIN PASSWORD %L', :'cache_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'millrace_cache') \gexec
SQL
