#!/usr/bin/env bash
# integration.concurrent-grants: `millrace grant` (twice) and `millrace api
# grant`, started together ten times over, against the test stack
# (MILLRACE_STATE_DIR), in a schema and with roles of their own: every one
# must succeed. PostgreSQL refuses a GRANT on an object another transaction
# is granting on ("tuple concurrently updated"); docker-compose.yml starts
# its one-shot grant steps together, and they failed so before
# pg::lock_grants serialised them.
#
#   concurrent_grants.sh SOURCE_DIR BIN_DIR
set -euo pipefail
src=$1
bin=$2
. "$src/tests/stack_env.sh" "$src"
export MILLRACE_PG
tag=grants_$$_$RANDOM
export MILLRACE_PG_SCHEMA=$tag
millrace=$bin/millrace
work=$(mktemp -d)
roles=("${tag}_sink" "${tag}_aggregator" "${tag}_reader" "${tag}_admin")
cleanup() {
  {
    echo "DROP SCHEMA IF EXISTS $tag CASCADE;"
    for r in "${roles[@]}"; do echo "DROP OWNED BY $r; DROP ROLE IF EXISTS $r;"; done
  } | psql -X -q "$superuser" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "concurrent_grants: $*" >&2; exit 1; }

for r in "${roles[@]}"; do echo "CREATE ROLE $r LOGIN;"; done | psql -X -q -v ON_ERROR_STOP=1 "$superuser" >/dev/null
"$millrace" migrate >/dev/null
for round in $(seq 1 10); do
  pids=()
  "$millrace" grant --sink "${roles[0]}" >"$work/a.log" 2>&1 &
  pids+=($!)
  "$millrace" grant --aggregator "${roles[1]}" >"$work/b.log" 2>&1 &
  pids+=($!)
  "$millrace" api grant --reader "${roles[2]}" --admin "${roles[3]}" >"$work/c.log" 2>&1 &
  pids+=($!)
  for i in "${!pids[@]}"; do
    wait "${pids[i]}" || fail "round $round: $(cat "$work/$(printf '%s' abc | cut -c$((i + 1))).log")"
  done
done
# The roles got what they were granted (one check each).
has() { psql -X -At "$MILLRACE_PG" -c "SELECT has_table_privilege('$1', '$tag.$2', '$3')"; }
[[ $(has "${roles[0]}" store_events INSERT) == t ]] || fail "the sink's role may not insert into store_events"
[[ $(has "${roles[2]}" categories SELECT) == t ]] || fail "the reader may not read categories"
echo "concurrent_grants: 10 rounds of three grants at once, every one succeeded"
