# shellcheck shell=bash
# Sourced by the peer tests (tests/peers/*_test.sh), which run a system not
# ours (Debezium, Kafka Connect, Flink) beside millrace-changefeed on a
# fixture's stack: `. tests/peers/lib.sh NAME SOURCE_DIR BUILD_DIR`.
#
# Sets src, build, here (this directory), suffix, and a test's own schema,
# role (LOGIN REPLICATION, with `password`), publication, work directory and
# log prefix, all named after NAME. Whatever the test adds to pids, slots,
# topics, databases and scratch (directories) is stopped, dropped or deleted
# on exit, with the schema, publication and role.
set -Eeuo pipefail
# A command that fails stops the test: which one, and where (a CI run's
# record may be all there is of a failure).
trap 'rc=$?; echo "${BASH_SOURCE[0]##*/}:$LINENO: \"$BASH_COMMAND\" failed (exit $rc)" >&2' ERR

src=$2
build=$3
here=$src/tests/peers
. "$src/tests/stack_env.sh" "$src"
suffix="$$_$RANDOM"
schema=${1}_$suffix
role=${1}_peer_$suffix
password=$1-peer-pw
publication=${1}_pub_$suffix
work=$build/peers/$1-$suffix
mkdir -p "$work" "$build/test-logs"
log=$build/test-logs/peers-$1-$suffix
export MILLRACE_PG_SCHEMA=$schema

pids=()
slots=()
topics=()
databases=()
scratch=()

kafka_java() {
  java -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -cp "$(<"$MILLRACE_STATE_DIR/kafka.classpath")" "$@"
}

peer_cleanup() {
  local pid slot db dir
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for dir in "${scratch[@]}"; do rm -rf "$dir"; done
  for slot in "${slots[@]}"; do
    psql -X -q "$superuser" -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$slot'" >/dev/null 2>&1 || true
  done
  psql -X -q "$MILLRACE_PG" -c "DROP SCHEMA IF EXISTS $schema CASCADE" \
    -c "DROP PUBLICATION IF EXISTS $publication" >/dev/null 2>&1 || true
  for db in "${databases[@]}"; do
    psql -X -q "$superuser" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  done
  psql -X -q "$superuser" -c "DROP OWNED BY $role" -c "DROP ROLE IF EXISTS $role" >/dev/null 2>&1 || true
  if ((${#topics[@]})); then
    kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$MILLRACE_BROKERS" --delete \
      --topic "$(IFS='|'; echo "${topics[*]}")" >/dev/null 2>&1 || true
  fi
}
trap peer_cleanup EXIT

# peer_classpath, connect_worker, debezium_connector, run_connect: shared with
# bench/run's outbox stage.
. "$here/connect.sh"

# The role, and the schema the test's tables go in (MILLRACE_PG owns it).
psql -X -q -v ON_ERROR_STOP=1 "$superuser" \
  -c "CREATE ROLE $role LOGIN REPLICATION PASSWORD '$password'" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 "$MILLRACE_PG" -c "CREATE SCHEMA $schema" \
  -c "GRANT USAGE ON SCHEMA $schema TO $role" >/dev/null
# The role's URL for database $1.
role_url() { echo "postgresql://$role:$password@127.0.0.1:$pg_port/$1"; }

# Creates topic $1 with $2 partitions, deleted at exit.
create_topic() {
  topics+=("$1")
  kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$MILLRACE_BROKERS" --create \
    --topic "$1" --partitions "$2" >>"$log.topics" 2>&1
}

# Waits until replication slot $1 is made and a reader streams from it.
# A logical slot is listed, active, while PostgreSQL still makes it: it
# waits for every transaction open in the cluster (any database: another
# test's) to end, and a change committed before it is done is in no stream.
# Its confirmed_flush_lsn is set when it is done.
wait_slot() {
  local i
  for ((i = 0; i < 120; i++)); do
    [[ $(psql -X -tA "$superuser" -c "SELECT active AND confirmed_flush_lsn IS NOT NULL FROM pg_replication_slots WHERE slot_name = '$1'") == t ]] && return 0
    sleep 1
  done
  echo "$(basename "$0"): slot $1 was not made and streamed from in 120 s; see $log.*" >&2
  psql -X "$superuser" -c "SELECT slot_name, active_pid, confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$1'" \
    -c "SELECT pid, datname, state, xact_start, left(query, 80) AS query FROM pg_stat_activity WHERE xact_start IS NOT NULL ORDER BY xact_start LIMIT 5" >&2 || true
  exit 1
}

# Waits until topic $1 exists (a feed makes a table's topic with its first
# record there): a peer's Kafka source given a topic that is not there yet
# fails (Flink's) or waits unseen.
wait_topic() {
  local i
  for ((i = 0; i < 120; i++)); do
    kcat -b "$MILLRACE_BROKERS" -L -J -t "$1" -m 5 2>/dev/null | grep -q '"partition":' && return 0
    sleep 1
  done
  echo "$(basename "$0"): topic $1 never appeared; see $log.*" >&2
  exit 1
}

# A read_committed dump of topic $1 as kcat's JSON lines.
dump_topic() {
  kcat -b "$MILLRACE_BROKERS" -C -t "$1" -e -q -J -X isolation.level=read_committed 2>/dev/null || true
}

# Starts Kafka Connect standalone (run_connect) in the background, logging
# to $log.connect.
start_connect() {
  run_connect "$@" >"$log.connect" 2>&1 &
  pids+=($!)
}
