# shellcheck shell=bash
# deploy/local/lib/alertmanager.sh — sourced by deploy/local/stack, which sets
# the globals used here; not a command of its own.
#
# Alertmanager beside Prometheus: 'up prometheus' (or 'up all') starts it
# when MILLRACE_ALERT_EMAIL_TO is set, with the configuration
# deploy/alertmanager/render.py writes from the MILLRACE_ALERT_* variables
# (docs/operations.md, "Routing alerts"), and points Prometheus at it through
# $STATE/prometheus/targets/alertmanager-local.json. Port
# MILLRACE_ALERTMANAGER_PORT (default 9093); cluster gossip off.

# The port: MILLRACE_ALERTMANAGER_PORT, else the one the running
# Alertmanager was started on (recorded), else 9093.
am_globals() {
  AM_PORT=${MILLRACE_ALERTMANAGER_PORT:-$(cat "$STATE/alertmanager/port" 2>/dev/null || echo 9093)}
  AM_URL=http://127.0.0.1:$AM_PORT
  AM_DIR=$STATE/alertmanager
  AM_CONFIG=$AM_DIR/alertmanager.yml
  AM_PID_FILE=$STATE/alertmanager.pid
  AM_LOG=$STATE/alertmanager.log
  AM_TARGET=$PROM_DIR/targets/alertmanager-local.json
}

alerting_wanted() { [[ -n ${MILLRACE_ALERT_EMAIL_TO:-} ]]; }

# Sets AM_STATE and AM_PID, like probe_prometheus.
probe_alertmanager() {
  am_globals
  probe_server "$AM_PID_FILE" "--config.file=$AM_CONFIG"
  AM_PID=$PROBED_PID AM_STATE=$PROBED_STATE
}

# Renders the configuration (again on every start: the variables may have
# changed), starts Alertmanager unless it runs, waits until it answers, and
# names it to Prometheus.
start_alertmanager() {
  probe_alertmanager
  local bin=${MILLRACE_ALERTMANAGER_BIN:-/usr/bin/prometheus-alertmanager}
  have "$bin" ||
    die "Alertmanager not found at $bin; run scripts/bootstrap or set MILLRACE_ALERTMANAGER_BIN"
  mkdir -p -- "$AM_DIR/data" "$PROM_DIR/targets"
  /usr/bin/python3 "$REPO_ROOT/deploy/alertmanager/render.py" "$AM_CONFIG.tmp" ||
    die "could not write Alertmanager's configuration from MILLRACE_ALERT_*"
  mv -f -- "$AM_CONFIG.tmp" "$AM_CONFIG"
  case $AM_STATE in
    running)
      log "alertmanager: already running (pid $AM_PID, $AM_URL); reloading its configuration"
      kill -HUP "$AM_PID" 2>/dev/null || true
      ;;
    *)
      [[ $AM_STATE == crashed ]] && report_crash alertmanager "$AM_PID" "$AM_LOG"
      require_free_port "$AM_PORT" MILLRACE_ALERTMANAGER_PORT alertmanager
      printf '\n===== %s: deploy/local/stack starting Alertmanager =====\n' "$(date -Is)" >>"$AM_LOG"
      launch_detached Alertmanager "$AM_PID_FILE" "$AM_LOG" "$bin" \
        --config.file="$AM_CONFIG" \
        --storage.path="$AM_DIR/data" \
        --web.listen-address="127.0.0.1:$AM_PORT" \
        --cluster.listen-address=
      AM_PID=$LAUNCHED_PID
      printf '%s\n' "$AM_PORT" >"$AM_DIR/port"
      local deadline=$((SECONDS + 30))
      until curl -fsS -m 2 -o /dev/null "$AM_URL/-/ready" 2>/dev/null; do
        if ! proc_alive "$AM_PID"; then
          show_log_tail "$AM_LOG" 30
          die "Alertmanager (pid $AM_PID) exited during startup"
        fi
        ((SECONDS < deadline)) || die "Alertmanager did not answer on $AM_URL/-/ready within 30s"
        sleep 0.25
      done
      log "alertmanager: started (pid $AM_PID, $AM_URL), mailing $MILLRACE_ALERT_EMAIL_TO"
      ;;
  esac
  printf '[{"targets": ["127.0.0.1:%s"]}]\n' "$AM_PORT" >"$AM_TARGET.tmp"
  mv -f -- "$AM_TARGET.tmp" "$AM_TARGET"
}

stop_alertmanager() {
  probe_alertmanager
  rm -f -- "$AM_TARGET"
  case $AM_STATE in
    stopped) ;;
    crashed) rm -f -- "$AM_PID_FILE" ;;
    running)
      log "alertmanager: stopping (pid $AM_PID)"
      terminate alertmanager "$AM_PID"
      rm -f -- "$AM_PID_FILE"
      log "alertmanager: stopped"
      ;;
  esac
}
