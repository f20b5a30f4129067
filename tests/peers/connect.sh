# shellcheck shell=bash
# Kafka Connect and Debezium as the peer tests (tests/peers/lib.sh) and
# bench/run's outbox stage (bench/harness/stages/outbox.py) both run them:
# sourced, it defines functions that read these variables, which the caller
# sets (lib.sh sets them all; the harness passes them in the environment):
#
#   build, here, work, log   the build tree, this directory, a work
#                            directory and a log file prefix
#   MILLRACE_BROKERS         the stack's brokers
#   pg_port, role, password, publication
#                            PostgreSQL's port, a LOGIN REPLICATION role
#                            and its password, the connectors' publication

# Resolves a peer's pom into a classpath file (once; again when the pom
# changes) and prints the classpath.
peer_classpath() {
  local pom=$1 out=$build/peers/$2.classpath
  if [[ ! -s $out || $pom -nt $out ]]; then
    echo "resolving $(dirname "$pom") with Maven (the first run downloads its jars)" >&2
    MAVEN_OPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC ${MAVEN_OPTS:-}" \
      mvn -B -q -Dstyle.color=never -f "$pom" dependency:build-classpath \
      -Dmdep.outputFile="$out.tmp" >"$log.maven" 2>&1 || {
      tail -30 "$log.maven" >&2
      echo "$(basename "$0"): Maven could not resolve $pom" >&2
      exit 1
    }
    mv -f "$out.tmp" "$out"
  fi
  cat "$out"
}

# A Kafka Connect standalone worker's properties, written to $1: the stack's
# brokers, JsonConverter, offsets in the work directory, no REST port of
# its own. Further lines of settings come on stdin.
connect_worker() {
  {
    cat <<EOF2
bootstrap.servers=$MILLRACE_BROKERS
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
offset.storage.file.filename=$work/offsets
offset.flush.interval.ms=1000
listeners=http://127.0.0.1:0
plugin.path=
EOF2
    cat
  } >"$1"
}

# The settings every Debezium PostgreSQL connector of these tests has:
# connector, slot and topic prefix $1, the test's role, database and
# publication, no snapshot, topics of one partition. Its own settings follow.
debezium_connector() {
  cat <<EOF2
name=$1
connector.class=io.debezium.connector.postgresql.PostgresConnector
tasks.max=1
plugin.name=pgoutput
database.hostname=127.0.0.1
database.port=$pg_port
database.user=$role
database.password=$password
database.dbname=millrace
topic.prefix=$1
slot.name=$1
publication.name=$publication
publication.autocreate.mode=disabled
snapshot.mode=no_data
topic.creation.default.replication.factor=-1
topic.creation.default.partitions=1
EOF2
}

# Runs Kafka Connect standalone in the foreground (exec: its pid is the
# JVM's) with classpath $1 and the worker and connector properties files
# after it.
run_connect() {
  local classpath=$1
  shift
  exec java -Xms64m -Xmx512m -XX:+UseSerialGC -Dlog4j.configuration="file:$here/connect/log4j.properties" \
    -cp "$classpath" org.apache.kafka.connect.cli.ConnectStandalone "$@"
}
