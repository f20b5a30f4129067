#!/usr/bin/env bash
# fault.api-unshown-commit: a commit the change feed publishes before
# PostgreSQL shows it to other sessions still reaches millrace-api's live
# stream once it shows, not at the API's next periodic read a minute later.
# PostgreSQL hands a commit to logical decoding once it is in the WAL and
# shows it to others when the committing session leaves the proc array, a
# moment later; a synchronous-replication wait for a standby that never
# comes holds a commit in between for as long as the test needs. The setting
# is the server's, so the test runs alone on a fault stack, asks for the wait
# in its writer's session only (the server's default made local meanwhile),
# and sets both back on exit and at its start.
#
#   unshown_commit_test.sh SOURCE_DIR BUILD_DIR   (MILLRACE_STATE_DIR: the stack)
set -euo pipefail
src=$1
build=$2
bin=$build/bin
. "$src/tests/stack_env.sh" "$src"
command -v kcat >/dev/null || { echo "unshown_commit_test: kcat is not installed" >&2; exit 1; }
name=unshown_$$_$RANDOM
export MILLRACE_PG MILLRACE_BROKERS MILLRACE_CHANGEFEED_PG MILLRACE_PG_SCHEMA=$name
export MILLRACE_TOPIC=$name MILLRACE_DLQ_TOPIC=$name.dlq MILLRACE_CHANGES_TOPIC=$name.changes
export MILLRACE_ORDERS_TOPIC=$name.orders MILLRACE_MIGRATE=false
export MILLRACE_CHANGEFEED_SLOT=${name}_slot MILLRACE_CHANGEFEED_PUBLICATION=${name}_pub
unset MILLRACE_REDIS_URL
logs=$build/test-logs
mkdir -p "$logs"
stream=$logs/$name.stream.txt
writer=${name}_writer
value=777.77
pids=()
fail() {
  echo "unshown_commit_test: $*; see $logs/$name.*" >&2
  exit 1
}
# The server's settings back as the stack made them (also at the start: a
# run killed before its cleanup leaves them set, though harmlessly, below).
reset_settings() {
  psql -X -q "$superuser" -c "ALTER SYSTEM RESET synchronous_standby_names" \
    -c "ALTER SYSTEM RESET synchronous_commit" -c "SELECT pg_reload_conf()" >/dev/null 2>&1
}
cleanup() {
  reset_settings || true
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  "$bin/millrace" changefeed drop-slot --slot "$MILLRACE_CHANGEFEED_SLOT" >/dev/null 2>&1 || true
  psql -X -q "$MILLRACE_PG" -c "DROP PUBLICATION IF EXISTS ${name}_pub" \
    -c "DROP SCHEMA IF EXISTS $name CASCADE" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP
reset_settings || fail "could not reset the server's synchronous-replication settings"
free_port() { "$src/tests/support/free-port"; }
# Polls `condition` (a command) every 0.2 s for up to `seconds`.
wait_for() {
  local seconds=$1
  shift
  for _ in $(seq 1 $((seconds * 5))); do
    if "$@"; then return 0; fi
    sleep 0.2
  done
  return 1
}

"$bin/millrace" migrate >/dev/null
"$bin/millrace" create-topics >/dev/null
feed_role=$(sed -E 's|^[a-z]+://([^:@/]+).*|\1|' <<<"$MILLRACE_CHANGEFEED_PG")
"$bin/millrace" changefeed publish --grant-select "$feed_role" >/dev/null
# Every declared view filled, as a running pipeline's are: the API then reads
# the views once a minute with no change (every 5 s while one fills).
psql -X -q -v ON_ERROR_STOP=1 "$MILLRACE_PG" \
  -c "UPDATE $name.aggregator_views SET state = 'filled', filled_at = now()" >/dev/null

MILLRACE_METRICS_ADDR=127.0.0.1:$(free_port) "$bin/millrace-changefeed" \
  >"$logs/$name.millrace-changefeed.log" 2>&1 &
pids+=($!)
slot_streams() {
  [[ $(psql -X -At "$MILLRACE_PG" -c "SELECT count(*) FROM pg_replication_slots WHERE active \
    AND confirmed_flush_lsn IS NOT NULL AND slot_name = '${name}_slot'") == 1 ]]
}
wait_for 120 slot_streams || fail "the change feed did not start streaming"
api=127.0.0.1:$(free_port)
MILLRACE_API_ADDR=$api MILLRACE_API_PG=$MILLRACE_PG MILLRACE_API_DEAD_LETTER_TOPICS=$name.dlq \
  MILLRACE_METRICS_ADDR=127.0.0.1:$(free_port) "$bin/millrace-api" >"$logs/$name.millrace-api.log" 2>&1 &
pids+=($!)
wait_for 60 curl -sf "http://$api/readyz" -o /dev/null || fail "millrace-api did not become ready"
curl -sN "http://$api/v1/stream" >"$stream" 2>/dev/null &
pids+=($!)
wait_for 60 grep -q '^event: snapshot' "$stream" || fail "the live stream sent no snapshot"

# The commit, held between the WAL and other sessions. Only the writer's
# session asks for the standby (synchronous_commit on); every other commit
# on this server, the stack's default made local here, takes no wait, also
# if this test is killed before it resets them.
psql -X -q -v ON_ERROR_STOP=1 "$superuser" \
  -c "ALTER SYSTEM SET synchronous_commit = local" \
  -c "ALTER SYSTEM SET synchronous_standby_names = 'millrace_test_no_such_standby'" \
  -c "SELECT pg_reload_conf()" >/dev/null
held() {
  [[ $(psql -X -At "$superuser" -c "SELECT count(*) FROM pg_stat_activity \
    WHERE application_name = '$writer' AND wait_event = 'SyncRep'") == 1 ]]
}
# Until the reload reaches the backend the insert takes no wait: try again.
inserted=0
for attempt in 1 2 3 4 5; do
  psql -X -q "$MILLRACE_PG" -c "SET application_name = '$writer'" -c "SET synchronous_commit = on" \
    -c "INSERT INTO $name.agg_hourly VALUES (date_trunc('hour', now()) + interval '$attempt second', \
      'sale_event', 'held', 1, 1, $value, 0, 0)" >"$logs/$name.writer.log" 2>&1 &
  pids+=($!)
  if wait_for 10 held; then inserted=1; break; fi
  wait "${pids[-1]}" 2>/dev/null || true
  psql -X -q "$MILLRACE_PG" -c "DELETE FROM $name.agg_hourly WHERE category = 'held'" >/dev/null
done
((inserted)) || fail "the insert was never held by the synchronous-replication wait"
published() {
  kcat -b "$MILLRACE_BROKERS" -C -t "$name.changes" -X isolation.level=read_committed -e -q \
    -f '%k\n' 2>/dev/null | grep -q '"category":"held"'
}
wait_for 120 published || fail "the change feed did not publish the held commit"
shown=$(psql -X -At "$MILLRACE_PG" -c "SELECT count(*) FROM $name.agg_hourly WHERE category = 'held'")
[[ $shown == 0 ]] || fail "the held commit is visible to other sessions already ($shown row)"
# The API polls the topic every 100 ms: by now it has read the views for the
# change, too early to see it.
sleep 3
! grep -q "$value" "$stream" || fail "the live stream showed the commit before PostgreSQL did"

# Shown: the wait ends (the commit stays, as the warning says).
reset_settings
psql -X -At "$superuser" \
  -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = '$writer'" >/dev/null
shown=$(psql -X -At "$MILLRACE_PG" -c "SELECT count(*) FROM $name.agg_hourly WHERE category = 'held'")
[[ $shown == 1 ]] || fail "the held commit did not show once its wait ended"
# The API reads the views once a minute with no change: a deadline well
# inside it, which the stream meets at the next turn once the commit shows.
wait_for 30 grep -q "$value" "$stream" ||
  fail "the live stream did not show the commit within 30 s of PostgreSQL showing it"
echo "unshown_commit_test: the live stream showed a commit published before PostgreSQL showed it, once it did"
