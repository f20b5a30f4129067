#!/bin/bash
# The Kafka image's start (deploy/docker/images/kafka/Dockerfile), on the
# apache/kafka image's contract:
# - every KAFKA_* variable but the JVM's (the list below) is a broker
#   property: KAFKA_ dropped, lower case, '___' is '-', '__' is '_' and '_'
#   is '.' (KAFKA_LISTENER_NAME_EXTERNAL_SSL_KEYSTORE_TYPE is
#   listener.name.external.ssl.keystore.type);
# - CLUSTER_ID formats the log directories on the first start and is checked
#   against them on every later one (kafka-storage.sh format
#   --ignore-formatted);
# - KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS and KAFKA_OPTS go to the JVM.
# With arguments, it runs them instead (a one-shot such as kafka-configs.sh).
set -euo pipefail

if (($# > 0)); then exec "$@"; fi

config=/opt/kafka/config/server.properties
if [[ -z ${CLUSTER_ID:-} ]]; then
  echo "kafka: set CLUSTER_ID, the id of the cluster (22 characters of base64, e.g. from kafka-storage.sh random-uuid)" >&2
  exit 1
fi

# A property file's value: backslashes doubled, line breaks escaped.
escape() {
  local v=${1//\\/\\\\}
  v=${v//$'\n'/\\n}
  printf '%s' "${v//$'\r'/\\r}"
}

{
  echo "# Written by $0 from the container's KAFKA_* variables at its start."
  while IFS= read -r -d '' entry; do
    key=${entry%%=*}
    value=${entry#*=}
    case $key in
      KAFKA_VERSION | KAFKA_HEAP_OPTS | KAFKA_LOG4J_OPTS | KAFKA_OPTS | KAFKA_JMX_OPTS | \
        KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_GC_LOG_OPTS | KAFKA_LOG4J_ROOT_LOGLEVEL | \
        KAFKA_LOG4J_LOGGERS | KAFKA_TOOLS_LOG4J_LOGLEVEL) continue ;;
      KAFKA_?*) ;;
      *) continue ;;
    esac
    name=${key#KAFKA_}
    name=${name,,}
    # A variable's name has no '-' or '+' to be confused with.
    name=${name//___/-}
    name=${name//__/+}
    name=${name//_/.}
    name=${name//+/_}
    printf '%s=%s\n' "$name" "$(escape "$value")"
  done < <(env -0 | sort -z)
} >"$config.tmp"
mv -f "$config.tmp" "$config"

grep -q '^process\.roles=' "$config" ||
  { echo "kafka: set KAFKA_PROCESS_ROLES (this image runs KRaft only)" >&2; exit 1; }

kafka-storage.sh format --ignore-formatted --cluster-id "$CLUSTER_ID" --config "$config" >/dev/null

export KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms1g -Xmx1g}
export KAFKA_BROKER=1
exec kafka-run-class.sh kafka.Kafka "$config"
