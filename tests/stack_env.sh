# shellcheck shell=bash
# Sourced by the tests run as scripts against a fixture's stack
# (MILLRACE_STATE_DIR, tests/in_stack.sh): `. tests/stack_env.sh SOURCE_DIR`.
#
# Exports the stack's settings (deploy/local/stack env) without the
# per-service roles: each service then runs against the test's own schema
# through MILLRACE_PG, which a service reads only when its own
# MILLRACE_<SERVICE>_PG is unset. Sets pg_port, PostgreSQL's port, and
# superuser, a conninfo for the postgres superuser over the stack's socket.
eval "$("$1/deploy/local/stack" env)"
unset $("$1/scripts/services" roles | tr '[:lower:]' '[:upper:]' | sed 's/.*/MILLRACE_&_PG/')
: "${MILLRACE_PG:?the stack printed no MILLRACE_PG}"
pg_port=$(sed -E 's|.*@[^:/]+:([0-9]+)/.*|\1|' <<<"$MILLRACE_PG")
superuser="host=$MILLRACE_STATE_DIR/pgrun port=$pg_port user=postgres dbname=millrace"
