#!/bin/bash
# The Kafka distribution's kafka-broker-api-versions.sh: kafka.admin.BrokerApiVersionsCommand.
exec "$(dirname "$0")/kafka-run-class.sh" kafka.admin.BrokerApiVersionsCommand "$@"
