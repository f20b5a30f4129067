# shellcheck shell=bash
# deploy/local/lib/up.sh — sourced by deploy/local/stack, which sets the
# globals used here; not a command of its own.
#
# `deploy/local/stack up`: checks every selected server and its ports, then
# starts what is not running, waits for it and prints the env exports.

cmd_up() {
  local want_kafka=$1 want_pg=$2 want_redis=$3 want_prom=$4 want_s3=$5 want_azurite=$6
  local i
  if ((want_prom)); then
    check_prometheus_port
  fi
  if ((want_s3 || want_azurite)); then
    check_objstore_ports "$want_s3" "$want_azurite" "$want_prom"
  fi
  mkdir -p -- "$STATE"
  acquire_lock
  probe_kafka
  probe_postgres
  probe_redis
  probe_prometheus
  probe_s3
  probe_azurite
  check_running_ports
  check_node_count
  write_recorded

  local start_kafka=0 start_pg=0 start_redis=0 start_prom=0 start_nodes=()
  local start_s3=0 start_azurite=0
  if ((want_kafka)); then
    for i in "${SELECTED_NODES[@]}"; do
      case ${NODE_STATE[i]} in
        running) log "${NODE_NAME[i]}: already running (pid ${NODE_PID[i]}, 127.0.0.1:${NODE_PORT[i]})" ;;
        crashed)
          report_crash "${NODE_NAME[i]}" "${NODE_PID[i]}" "${NODE_LOG[i]}"
          start_nodes+=("$i")
          ;;
        stopped) start_nodes+=("$i") ;;
      esac
    done
    ((${#start_nodes[@]} == 0)) || start_kafka=1
  fi
  if ((want_pg)); then
    case $PG_STATE in
      running) log "postgres: already running (pid $PG_PID, 127.0.0.1:$PG_PORT)" ;;
      crashed)
        report_crash postgres "$PG_PID" "$PG_LOG"
        start_pg=1
        ;;
      stopped) start_pg=1 ;;
    esac
  fi
  if ((want_redis)); then
    case $REDIS_STATE in
      running) log "redis: already running (pid $REDIS_PID, 127.0.0.1:$REDIS_PORT)" ;;
      crashed)
        report_crash redis "$REDIS_PID" "$REDIS_LOG"
        start_redis=1
        ;;
      stopped) start_redis=1 ;;
    esac
  fi
  if ((want_prom)); then
    case $PROM_STATE in
      running) log "prometheus: already running (pid $PROM_PID, $PROM_URL)" ;;
      crashed)
        report_crash prometheus "$PROM_PID" "$PROM_LOG"
        start_prom=1
        ;;
      stopped) start_prom=1 ;;
    esac
  fi
  if ((want_s3)); then
    case $S3_STATE in
      running) log "s3: already running (pid $S3_PID, $S3_ENDPOINT)" ;;
      crashed)
        report_crash s3 "$S3_PID" "$S3_LOG"
        start_s3=1
        ;;
      stopped) start_s3=1 ;;
    esac
  fi
  if ((want_azurite)); then
    case $AZURITE_STATE in
      running) log "azurite: already running (pid $AZURITE_PID, $AZURITE_ACCOUNT_URL)" ;;
      crashed)
        report_crash azurite "$AZURITE_PID" "$AZURITE_LOG"
        start_azurite=1
        ;;
      stopped) start_azurite=1 ;;
    esac
  fi

  # Check everything before starting anything, so a clash leaves no
  # half-started stack behind.
  for i in "${start_nodes[@]}"; do
    require_free_port "${NODE_PORT[i]}" MILLRACE_KAFKA_PORT
    require_free_port "${NODE_CONTROLLER_PORT[i]}" MILLRACE_KAFKA_CONTROLLER_PORT
    ((SECURE_PORT == 0)) || require_free_port "$SECURE_PORT" MILLRACE_KAFKA_SECURE_PORT
  done
  if ((start_pg)); then
    require_free_port "$PG_PORT" MILLRACE_PG_PORT
  fi
  if ((start_redis)); then
    require_free_port "$REDIS_PORT" MILLRACE_REDIS_PORT redis
  fi
  if ((start_prom)); then
    require_free_port "$PROM_PORT" MILLRACE_PROMETHEUS_PORT prometheus
  fi
  if ((start_s3)); then
    for ((i = S3_PORT; i <= S3_PORT + 7; i++)); do
      require_free_port "$i" MILLRACE_S3_PORT s3
    done
  fi
  if ((start_azurite)); then
    require_free_port "$AZURITE_PORT" MILLRACE_AZURITE_PORT azurite
  fi
  if ((want_pg)); then
    find_pg_bindir
  fi
  if ((want_redis)); then
    find_redis
  fi
  if ((want_prom)); then
    find_prometheus
  fi
  if ((want_s3)); then
    find_weed
  fi
  if ((want_azurite)); then
    find_azurite
  fi

  # Maven takes seconds even with a full ~/.m2; PostgreSQL comes up
  # meanwhile, then waits for its clients while the JVM boots.
  local maven_job=""
  if ((want_kafka)); then
    find_java
    if ! kafka_classpath_cached; then
      resolve_kafka_classpath &
      maven_job=$!
    fi
  fi
  if ((start_pg)); then
    start_postgres
  fi
  if ((start_redis)); then
    write_redis_conf
    launch_redis
  fi
  if ((want_s3)); then
    ensure_s3_keys
  fi
  if ((start_s3)); then
    write_s3_config
    launch_s3
  fi
  if ((start_azurite)); then
    launch_azurite
  fi
  if [[ -n $maven_job ]]; then
    wait "$maven_job" || exit 1
  fi
  if ((want_kafka)); then
    load_kafka_classpath
  fi
  if ((start_kafka)); then
    for i in "${start_nodes[@]}"; do write_kafka_properties "$i"; done
    format_kafka_storage "${start_nodes[@]}"
    for i in "${start_nodes[@]}"; do launch_kafka "$i"; done
  fi
  if ((start_prom)); then
    prepare_prometheus
    launch_prometheus
  fi
  # Also run when nothing was started: both are read-only checks unless the
  # role, database or a topic is missing (e.g. after a topic rename).
  if ((want_pg)); then
    wait_for_postgres
  fi
  if ((want_redis)); then
    wait_for_redis
  fi
  if ((want_kafka)); then
    # Also when it was running already: it may still be starting up.
    wait_for_kafka
    ensure_topics
    ((SECURE_PORT == 0)) || ensure_sasl_user
  fi
  if ((want_prom)); then
    wait_for_prometheus
    if alerting_wanted; then
      start_alertmanager
    fi
  fi
  # Also when they were running already: the bucket, the container and the
  # SAS are made if missing.
  if ((want_s3)); then
    wait_for_s3
  fi
  if ((want_azurite)); then
    wait_for_azurite
  fi

  if ((start_kafka || start_pg || start_redis || start_prom || start_s3 || start_azurite)); then
    local ready=()
    if ((want_kafka)); then ready+=("kafka on $BROKERS"); fi
    if ((want_pg)); then ready+=("postgres on 127.0.0.1:$PG_PORT"); fi
    if ((want_redis)); then ready+=("redis on 127.0.0.1:$REDIS_PORT"); fi
    if ((want_prom)); then ready+=("prometheus on $PROM_URL"); fi
    if ((want_s3)); then ready+=("s3 on $S3_ENDPOINT"); fi
    if ((want_azurite)); then ready+=("azurite on $AZURITE_ACCOUNT_URL"); fi
    log "ready: ${ready[*]}"
  else
    log "nothing to start: already running for $STATE"
  fi
  cmd_env
}
