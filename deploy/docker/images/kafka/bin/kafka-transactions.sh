#!/bin/bash
# The Kafka distribution's kafka-transactions.sh: org.apache.kafka.tools.TransactionsCommand.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.TransactionsCommand "$@"
