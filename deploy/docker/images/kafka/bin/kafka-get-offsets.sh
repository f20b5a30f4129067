#!/bin/bash
# The Kafka distribution's kafka-get-offsets.sh: org.apache.kafka.tools.GetOffsetShell.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.GetOffsetShell "$@"
