#!/bin/bash
# The Kafka distribution's kafka-console-producer.sh: kafka.tools.ConsoleProducer.
exec "$(dirname "$0")/kafka-run-class.sh" kafka.tools.ConsoleProducer "$@"
