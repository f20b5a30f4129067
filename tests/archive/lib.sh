# What the archive's test scripts share (sourced by archive_test.sh and
# objstore_test.sh, with mode, src and build set): the stack's settings, a
# schema, topic and group of the test's own, removed at exit, and the
# archiver started, stopped and waited for.
# shellcheck shell=bash

eval "$("$src/deploy/local/stack" env)"
# Each service runs against this test's schema through MILLRACE_PG, which a
# service reads only when its own MILLRACE_<SERVICE>_PG is unset: the
# stack's per-service roles (stack env) stay out of it.
unset $("$src/scripts/services" roles | tr '[:lower:]' '[:upper:]' | sed 's/.*/MILLRACE_&_PG/')
: "${MILLRACE_PG:?the stack printed no MILLRACE_PG}"
python=$src/.cache/venv/bin/python
"$python" -c 'import fastavro' 2>/dev/null ||
  { echo "${0##*/}: fastavro is not installed in $src/.cache/venv; run scripts/bootstrap" >&2; exit 1; }

name=arch_$$_$RANDOM
work=$build/archive-test/$name
logs=$build/test-logs
mkdir -p "$work" "$logs"
export MILLRACE_PG MILLRACE_BROKERS
export MILLRACE_PG_SCHEMA=$name MILLRACE_TOPIC=$name MILLRACE_DLQ_TOPIC=$name.dlq
export MILLRACE_CHANGES_TOPIC=$name.changes MILLRACE_ARCHIVER_GROUP=${name}_archiver
export MILLRACE_ARCHIVE_NAMESPACE=shop
export MILLRACE_SESSION_TIMEOUT_MS=6000 MILLRACE_METRICS_ADDR=127.0.0.1:0
millrace=$build/bin/millrace
archiver=$build/bin/millrace-archiver

archiver_pid=
aggregator_pid=
cleanup() {
  [[ -n $archiver_pid ]] && kill -9 "$archiver_pid" 2>/dev/null || true
  [[ -n $aggregator_pid ]] && kill -9 "$aggregator_pid" 2>/dev/null || true
  psql -q "$MILLRACE_PG" -c "DROP SCHEMA IF EXISTS ${name}_rebuilt CASCADE" >/dev/null 2>&1 || true
  psql -q "$MILLRACE_PG" -c "DROP SCHEMA IF EXISTS $name CASCADE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "${0##*/} $mode: FAILED: $*" >&2
  exit 1
}

psql -q -v ON_ERROR_STOP=1 "$MILLRACE_PG" -c "CREATE SCHEMA $name" >/dev/null
"$millrace" migrate >/dev/null
"$millrace" create-topics >/dev/null

start_archiver() {
  local run=$1
  shift
  "$archiver" "$@" >>"$logs/$name.archiver.log" 2>&1 &
  archiver_pid=$!
  echo "run $run: archiver pid $archiver_pid" >>"$logs/$name.archiver.log"
}

# Offsets the group stored, summed, and the topic's end offsets, summed.
stored_total() {
  psql -qtA "$MILLRACE_PG" -c "SELECT coalesce(sum(next_offset), 0) FROM $name.consumer_offsets
    WHERE group_id = '${name}_archiver' AND topic = '$name'"
}
end_total() {
  local total=0 p topic=${1:-$name}
  for p in 0 1 2 3; do
    total=$((total + $(kcat -Q -b "$MILLRACE_BROKERS" -t "$topic:$p:-1" | awk '{print $NF}')))
  done
  echo "$total"
}

wait_caught_up() {
  local end
  end=$(end_total)
  for _ in $(seq 1 900); do
    [[ $(stored_total) == "$end" ]] && return 0
    sleep 0.2
  done
  fail "the archiver stored $(stored_total) of $end offsets in 180 s (log: $logs/$name.archiver.log)"
}

stop_archiver() {
  kill -TERM "$archiver_pid"
  wait "$archiver_pid" || fail "the archiver exited with status $? after SIGTERM"
  archiver_pid=
}
