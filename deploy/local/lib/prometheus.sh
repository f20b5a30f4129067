# shellcheck shell=bash
# deploy/local/lib/prometheus.sh — sourced by deploy/local/stack, which sets the
# globals used here; not a command of its own.
#
# Prometheus (optional: only 'up prometheus' and 'up all' start it): its
# config, starting and stopping the server.

# Sets PROM_STATE and PROM_PID, like probe_kafka.
probe_prometheus() {
  probe_server "$PROM_PID_FILE" "--config.file=$PROM_CONFIG"
  PROM_PID=$PROBED_PID PROM_STATE=$PROBED_STATE
}

# Its port must not be one another server of this stack listens on; checked
# only when Prometheus is wanted.
check_prometheus_port() {
  local i
  for ((i = 1; i <= NODES; i++)); do
    if [[ $PROM_PORT == "${NODE_PORT[i]}" || $PROM_PORT == "${NODE_CONTROLLER_PORT[i]}" ||
      $PROM_PORT == "$PG_PORT" || $PROM_PORT == "$REDIS_PORT" ]]; then
      die "MILLRACE_PROMETHEUS_PORT (--prometheus-port) must differ from the Kafka," \
        "Kafka controller, PostgreSQL and Redis ports (got $PROM_PORT)"
    fi
  done
}

find_prometheus() {
  PROM_BIN=${MILLRACE_PROMETHEUS_BIN:-/usr/bin/prometheus}
  have "$PROM_BIN" ||
    die "prometheus not found at $PROM_BIN; run scripts/bootstrap or set MILLRACE_PROMETHEUS_BIN"
  have curl || die "curl not found; run scripts/bootstrap"
}

# deploy/prometheus/prometheus.yml is used as it is: Prometheus resolves its
# relative paths against the config file's directory, so targets/ here is the
# stack's own (tests drop target files into it) and rules/ links back to the
# repository (edited rules apply on a reload: curl -X POST URL/-/reload).
prepare_prometheus() {
  local target
  mkdir -p -- "$PROM_DIR/targets" "$PROM_DIR/data"
  {
    printf '# Copied from %s by deploy/local/stack on every start; edit that file instead.\n' \
      "$PROMETHEUS_SRC/prometheus.yml"
    cat -- "$PROMETHEUS_SRC/prometheus.yml"
  } >"$PROM_CONFIG.tmp"
  mv -f -- "$PROM_CONFIG.tmp" "$PROM_CONFIG"
  ln -sfn -- "$PROMETHEUS_SRC/rules" "$PROM_DIR/rules"
  # Seeded once: the files are the stack user's (or the tests') afterwards.
  for target in "$PROMETHEUS_SRC"/targets/*.json; do
    [[ -e $PROM_DIR/targets/${target##*/} ]] || cp -- "$target" "$PROM_DIR/targets/"
  done
}

launch_prometheus() {
  printf '\n===== %s: deploy/local/stack starting Prometheus =====\n' "$(date -Is)" >>"$PROM_LOG"
  launch_detached Prometheus "$PROM_PID_FILE" "$PROM_LOG" "$PROM_BIN" \
    --config.file="$PROM_CONFIG" \
    --storage.tsdb.path="$PROM_DIR/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" \
    --web.enable-lifecycle
  PROM_PID=$LAUNCHED_PID
  log "prometheus: started (pid $PROM_PID, $PROM_URL), waiting for it to answer"
}

wait_for_prometheus() {
  local timeout=${MILLRACE_PROMETHEUS_START_TIMEOUT:-60}
  local deadline=$((SECONDS + timeout))
  until curl -fsS -m 2 -o /dev/null "$PROM_URL/-/ready" 2>/dev/null; do
    if ! proc_alive "$PROM_PID"; then
      show_log_tail "$PROM_LOG" 30
      die "Prometheus (pid $PROM_PID) exited during startup"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail "$PROM_LOG" 30
      die "Prometheus did not answer on $PROM_URL/-/ready within ${timeout}s (pid $PROM_PID is still running)"
    fi
    sleep 0.25
  done
}

# Mode "if-started" (plain 'down') says nothing about a Prometheus that was
# never started.
stop_prometheus() {
  local mode=${1:-}
  probe_prometheus
  case $PROM_STATE in
    stopped) [[ $mode == if-started ]] || log "prometheus: already stopped" ;;
    crashed)
      log "prometheus: was not running (pid $PROM_PID is gone); clearing its pid file"
      rm -f -- "$PROM_PID_FILE"
      ;;
    running)
      log "prometheus: stopping (pid $PROM_PID)"
      terminate prometheus "$PROM_PID"
      rm -f -- "$PROM_PID_FILE"
      log "prometheus: stopped"
      ;;
  esac
}
