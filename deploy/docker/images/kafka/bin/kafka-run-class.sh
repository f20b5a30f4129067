#!/bin/bash
# Runs one of Kafka's classes on the jars in /opt/kafka/libs, as the
# distribution's script of this name does: `kafka-run-class.sh CLASS ARGS...`.
# The broker (KAFKA_BROKER=1, entrypoint.sh) gets KAFKA_HEAP_OPTS and logs
# with config/log4j.properties; a tool gets a small, quick-starting JVM and
# logs warnings to stderr (config/tools-log4j.properties), so a healthcheck
# every few seconds costs little beside the broker.
set -euo pipefail
class=${1:?usage: kafka-run-class.sh CLASS [ARGS...]}
shift
home=/opt/kafka
if [[ ${KAFKA_BROKER:-} == 1 ]]; then
  # shellcheck disable=SC2206 # word splitting is the variables' format
  jvm=(${KAFKA_HEAP_OPTS:-} ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true}
    -Dkafka.logs.dir=$home/logs -Dlog4j.configuration=file:$home/config/log4j.properties)
else
  jvm=(-Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true
    -Dlog4j.configuration=file:$home/config/tools-log4j.properties)
fi
# shellcheck disable=SC2206
exec java "${jvm[@]}" ${KAFKA_OPTS:-} -cp "$home/libs/*" "$class" "$@"
