#!/bin/bash
# The Kafka distribution's kafka-server-start.sh: kafka.Kafka.
KAFKA_BROKER=1 exec "$(dirname "$0")/kafka-run-class.sh" kafka.Kafka "$@"
