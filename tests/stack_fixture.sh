#!/usr/bin/env bash
# ctest fixture: starts the same local stack a user runs, on free ports in a
# state directory of the build tree, so tests can run beside a user's stack.
set -euo pipefail
action=$1
export MILLRACE_STATE_DIR=$2
stack="$(dirname "$0")/../deploy/local/stack"

port_free() { [ -z "$(ss -ltnH "sport = :$1" 2>/dev/null)" ]; }
pick_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 40000))
    if port_free "$p" && [[ " ${picked:-} " != *" $p "* ]]; then picked="${picked:-} $p"; echo "$p"; return; fi
  done
  echo "no free port found" >&2; exit 1
}

case "$action" in
  up)
    if "$stack" status all >/dev/null 2>&1; then echo "test stack already running"; exit 0; fi
    "$stack" down --purge >/dev/null 2>&1 || true
    picked=""
    MILLRACE_KAFKA_PORT=$(pick_port); picked="$picked $MILLRACE_KAFKA_PORT"
    MILLRACE_KAFKA_CONTROLLER_PORT=$(pick_port); picked="$picked $MILLRACE_KAFKA_CONTROLLER_PORT"
    MILLRACE_PG_PORT=$(pick_port); picked="$picked $MILLRACE_PG_PORT"
    MILLRACE_PROMETHEUS_PORT=$(pick_port)
    export MILLRACE_KAFKA_PORT MILLRACE_KAFKA_CONTROLLER_PORT MILLRACE_PG_PORT MILLRACE_PROMETHEUS_PORT
    # Prometheus too: the metrics test scrapes through a real server once.
    exec "$stack" up all
    ;;
  down)
    exec "$stack" down
    ;;
  *) echo "usage: $0 up|down STATE_DIR" >&2; exit 2 ;;
esac
