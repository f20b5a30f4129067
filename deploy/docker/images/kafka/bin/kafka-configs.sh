#!/bin/bash
# The Kafka distribution's kafka-configs.sh: kafka.admin.ConfigCommand.
exec "$(dirname "$0")/kafka-run-class.sh" kafka.admin.ConfigCommand "$@"
