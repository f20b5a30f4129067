#!/usr/bin/env bash
# ctest fixture: starts the same local stack a user runs, on free ports in a
# state directory of the build tree, so tests can run beside a user's stack.
#
#   stack_fixture.sh up [STATE_DIR [BROKERS]]   one Kafka node (with a SASL_SSL
#                                               listener too) and Prometheus,
#                                               or a cluster of BROKERS nodes;
#                                               PostgreSQL and Redis either way
#   stack_fixture.sh down [STATE_DIR]
#   stack_fixture.sh up-objstore [STATE_DIR]    the object stores (SeaweedFS'
#                                               S3 and Azurite) beside a stack
#                                               that runs, on free ports too
#   stack_fixture.sh down-objstore [STATE_DIR]
# Without STATE_DIR, MILLRACE_STATE_DIR names it (tests/in_stack.sh sets it).
set -euo pipefail
action=$1
export MILLRACE_STATE_DIR=${2:-${MILLRACE_STATE_DIR:?no STATE_DIR given and MILLRACE_STATE_DIR is not set}}
brokers=${3:-1}
stack="$(dirname "$0")/../deploy/local/stack"

# Stacks' servers take ports below 24000, the services a test starts those
# from 24000, each held against every other picker for a while
# (tests/pysupport/ports.py): a stack picks its ports before its servers
# bind them, and a test's pick made meanwhile could take one first (a feed
# once could not serve its metrics on a port a stack starting beside it had
# picked).
free_port="$(dirname "$0")/support/free-port"
pick_port() { "$free_port" --stack; }
# The first of `count` consecutive free ports (a cluster's node i takes the
# Kafka and controller ports + 2(i-1)).
pick_ports() { "$free_port" --stack --count "$1"; }

# Ports for one Kafka node with a SASL_SSL listener, PostgreSQL, Redis and
# Prometheus, or for a cluster of `brokers` nodes, PostgreSQL and Redis.
pick_all() {
  if ((brokers > 1)); then
    base=$(pick_ports $((2 * brokers)))
    MILLRACE_KAFKA_PORT=$base
    MILLRACE_KAFKA_CONTROLLER_PORT=$((base + 1))
    MILLRACE_PG_PORT=$(pick_port)
    MILLRACE_REDIS_PORT=$(pick_port)
    export MILLRACE_KAFKA_PORT MILLRACE_KAFKA_CONTROLLER_PORT MILLRACE_PG_PORT MILLRACE_REDIS_PORT
    return
  fi
  MILLRACE_KAFKA_PORT=$(pick_port)
  MILLRACE_KAFKA_CONTROLLER_PORT=$(pick_port)
  MILLRACE_PG_PORT=$(pick_port)
  MILLRACE_REDIS_PORT=$(pick_port)
  # The SASL_SSL listener (up --secure) for the tests of authenticated,
  # encrypted Kafka clients (tests/security/kafka_sasl_test.sh).
  MILLRACE_KAFKA_SECURE_PORT=$(pick_port)
  MILLRACE_PROMETHEUS_PORT=$(pick_port)
  export MILLRACE_KAFKA_PORT MILLRACE_KAFKA_CONTROLLER_PORT MILLRACE_PG_PORT MILLRACE_REDIS_PORT \
    MILLRACE_PROMETHEUS_PORT MILLRACE_KAFKA_SECURE_PORT
}

# The object stores' ports: SeaweedFS' S3 port and the seven after it (its
# master, volume server, filer, their gRPC ports and the S3 gRPC), and
# Azurite's.
pick_objstore() {
  MILLRACE_S3_PORT=$(pick_ports 8)
  MILLRACE_AZURITE_PORT=$(pick_port)
  export MILLRACE_S3_PORT MILLRACE_AZURITE_PORT
}

case "$action" in
  up-objstore)
    if "$stack" status objstore >/dev/null 2>&1; then echo "test object stores already running"; exit 0; fi
    "$stack" down objstore >/dev/null 2>&1 || true
    # As for the stack: a port taken between the pick and the bind is
    # picked again.
    out=$(mktemp)
    trap 'rm -f "$out"' EXIT
    for attempt in 1 2 3; do
      pick_objstore
      rc=0
      "$stack" up objstore 2>&1 | tee "$out" || rc=${PIPESTATUS[0]}
      ((rc == 0)) && exit 0
      grep -q "already in use" "$out" && ((attempt < 3)) || exit "$rc"
      echo "stack_fixture: a port was taken while the object stores started; again on new ports" >&2
      "$stack" down objstore >/dev/null 2>&1 || true
    done
    ;;
  down-objstore)
    exec "$stack" down objstore
    ;;
  up)
    if "$stack" status all >/dev/null 2>&1; then echo "test stack already running"; exit 0; fi
    "$stack" down --purge >/dev/null 2>&1 || true
    if ((brokers > 1)); then args=(--brokers "$brokers" up); else args=(up all); fi
    # Prometheus too, on one node: the metrics test scrapes through a real
    # server once. Two fixtures starting at once (the lanes of
    # tests/fault_loop.sh, another build tree's tests) can pick the same
    # free port before either binds it: a start that failed because a port
    # was taken meanwhile is tried again on new ports.
    out=$(mktemp)
    trap 'rm -f "$out"' EXIT
    for attempt in 1 2 3; do
      pick_all
      rc=0
      "$stack" "${args[@]}" 2>&1 | tee "$out" || rc=${PIPESTATUS[0]}
      ((rc == 0)) && exit 0
      grep -q "already in use" "$out" && ((attempt < 3)) || exit "$rc"
      echo "stack_fixture: a port was taken while the stack started; again on new ports" >&2
      "$stack" down --purge >/dev/null 2>&1 || true
    done
    ;;
  down)
    exec "$stack" down
    ;;
  *) echo "usage: $0 up|down|up-objstore|down-objstore [STATE_DIR]" >&2; exit 2 ;;
esac
