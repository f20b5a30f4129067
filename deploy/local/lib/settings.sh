# shellcheck shell=bash
# deploy/local/lib/settings.sh — sourced by deploy/local/stack, which sets the
# globals used here; not a command of its own.
#
# Settings: their defaults and flags, and how a flag, the environment and
# $STATE/stack.env combine into the values the commands use.

# Settings kept in $STATE/stack.env, with their defaults and flags.
readonly RECORDED_KEYS=(MILLRACE_KAFKA_PORT MILLRACE_KAFKA_CONTROLLER_PORT
  MILLRACE_PG_PORT MILLRACE_TOPIC MILLRACE_DLQ_TOPIC MILLRACE_PARTITIONS
  MILLRACE_PROMETHEUS_PORT MILLRACE_KAFKA_BROKERS MILLRACE_REDIS_PORT MILLRACE_KAFKA_SECURE_PORT
  MILLRACE_S3_PORT MILLRACE_AZURITE_PORT)
declare -A DEFAULTS=(
  [MILLRACE_STATE_DIR]=$REPO_ROOT/.state/local
  [MILLRACE_KAFKA_PORT]=9092
  [MILLRACE_KAFKA_CONTROLLER_PORT]=9093
  [MILLRACE_PG_PORT]=5432
  [MILLRACE_REDIS_PORT]=6379
  [MILLRACE_PROMETHEUS_PORT]=9090
  [MILLRACE_TOPIC]=store-events
  [MILLRACE_PARTITIONS]=4
  [MILLRACE_KAFKA_BROKERS]=1
  [MILLRACE_KAFKA_SECURE_PORT]=0
  # SeaweedFS' S3 API (its own default); its other servers take the seven
  # ports after it (s3.sh).
  [MILLRACE_S3_PORT]=8333
  # Azurite's Blob service (its own default).
  [MILLRACE_AZURITE_PORT]=10000
)
declare -A FLAG_KEYS=(
  [--state-dir]=MILLRACE_STATE_DIR
  [--kafka-port]=MILLRACE_KAFKA_PORT
  [--controller-port]=MILLRACE_KAFKA_CONTROLLER_PORT
  [--pg-port]=MILLRACE_PG_PORT
  [--redis-port]=MILLRACE_REDIS_PORT
  [--prometheus-port]=MILLRACE_PROMETHEUS_PORT
  [--topic]=MILLRACE_TOPIC
  [--dlq-topic]=MILLRACE_DLQ_TOPIC
  [--partitions]=MILLRACE_PARTITIONS
  [--brokers]=MILLRACE_KAFKA_BROKERS
  [--secure-port]=MILLRACE_KAFKA_SECURE_PORT
  [--s3-port]=MILLRACE_S3_PORT
  [--azurite-port]=MILLRACE_AZURITE_PORT
  [--kafka-heap-opts]=MILLRACE_KAFKA_HEAP_OPTS
  [--kafka-gc-opts]=MILLRACE_KAFKA_GC_OPTS
)
declare -A KEY_FLAGS=()
for _flag in "${!FLAG_KEYS[@]}"; do KEY_FLAGS[${FLAG_KEYS[$_flag]}]=$_flag; done
unset _flag

declare -A FLAG_VALUES=() # set on the command line
declare -A RECORDED=()    # read from $STATE/stack.env


# The value given by flag, else by environment variable, else empty.
explicit() {
  if [[ -n ${FLAG_VALUES[$1]+set} ]]; then
    printf '%s' "${FLAG_VALUES[$1]}"
  else
    printf '%s' "${!1:-}"
  fi
}

# Parsed by hand rather than sourced: the state dir may be shared and a
# sourced file could run anything.
load_recorded() {
  local key value
  [[ -f $STATE/stack.env ]] || return 0
  while IFS='=' read -r key value; do
    if [[ $key =~ ^MILLRACE_[A-Z0-9_]+$ ]]; then RECORDED[$key]=$value; fi
  done <"$STATE/stack.env"
}

write_recorded() {
  local key tmp=$STATE/stack.env.tmp
  {
    printf '# Written by deploy/local/stack up; read by env, status and down.\n'
    for key in "${RECORDED_KEYS[@]}"; do printf '%s=%s\n' "$key" "${!key}"; done
  } >"$tmp"
  mv -f -- "$tmp" "$STATE/stack.env"
}

# mode "up": flags/environment win over the recorded values (so a clashing
# port can be moved). Any other mode describes an existing stack, so the
# recorded values win and a differing override only gets a warning.
resolve_settings() {
  local mode=$1 key e r v
  STATE=$(explicit MILLRACE_STATE_DIR)
  STATE=$(realpath -m -- "${STATE:-${DEFAULTS[MILLRACE_STATE_DIR]}}")
  load_recorded

  for key in "${RECORDED_KEYS[@]}"; do
    [[ $key == MILLRACE_DLQ_TOPIC ]] && continue
    e=$(explicit "$key")
    r=${RECORDED[$key]:-}
    if [[ $mode == up ]]; then
      v=${e:-${r:-${DEFAULTS[$key]}}}
    else
      v=${r:-${e:-${DEFAULTS[$key]}}}
      if [[ -n $r && -n $e && $e != "$r" ]]; then
        warn "ignoring $key=$e: $STATE was set up with $r"
      fi
    fi
    printf -v "$key" '%s' "$v"
  done

  # The DLQ name follows the topic unless it was set on its own.
  e=$(explicit MILLRACE_DLQ_TOPIC)
  r=${RECORDED[MILLRACE_DLQ_TOPIC]:-}
  if [[ $mode == up ]]; then
    if [[ -n $e ]]; then
      v=$e
    elif [[ -n $r && ${RECORDED[MILLRACE_TOPIC]:-} == "$MILLRACE_TOPIC" ]]; then
      v=$r
    else
      v=$MILLRACE_TOPIC.dlq
    fi
  else
    v=${r:-${e:-$MILLRACE_TOPIC.dlq}}
  fi
  MILLRACE_DLQ_TOPIC=$v

  validate_settings

  KAFKA_PORT=$MILLRACE_KAFKA_PORT
  CONTROLLER_PORT=$MILLRACE_KAFKA_CONTROLLER_PORT
  SECURE_PORT=$MILLRACE_KAFKA_SECURE_PORT
  SASL_USER=millrace
  SASL_PASSWORD_FILE=$STATE/kafka-sasl.password
  PG_PORT=$MILLRACE_PG_PORT
  PG_URL=postgresql://$PG_ROLE:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DATABASE
  PG_CHANGEFEED_URL=postgresql://$PG_CHANGEFEED_ROLE:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DATABASE
  PG_PASSWORDS_DIR=$STATE/pg-passwords

  # Node 1 keeps the single-node file names, so a one-node state dir is the
  # same as before clusters existed.
  NODES=$MILLRACE_KAFKA_BROKERS
  local i sfx voters=() brokers=()
  for ((i = 1; i <= NODES; i++)); do
    sfx=""
    ((i == 1)) || sfx=-$i
    NODE_PORT[i]=$((KAFKA_PORT + 2 * (i - 1)))
    NODE_CONTROLLER_PORT[i]=$((CONTROLLER_PORT + 2 * (i - 1)))
    NODE_PROPS[i]=$STATE/kafka$sfx.properties
    NODE_PID_FILE[i]=$STATE/kafka$sfx.pid
    NODE_LOG[i]=$STATE/kafka$sfx.log
    NODE_DATA[i]=$STATE/kafka-data$sfx
    NODE_LOGS_DIR[i]=$STATE/kafka-logs$sfx
    if ((NODES == 1)); then NODE_NAME[i]=kafka; else NODE_NAME[i]=kafka-$i; fi
    voters+=("$i@127.0.0.1:${NODE_CONTROLLER_PORT[i]}")
    brokers+=("127.0.0.1:${NODE_PORT[i]}")
  done
  QUORUM_VOTERS=$(IFS=,; echo "${voters[*]}")
  BROKERS=$(IFS=,; echo "${brokers[*]}")
  REPLICATION=$((NODES < 3 ? NODES : 3))
  MIN_INSYNC=$((REPLICATION >= 3 ? 2 : 1))
  KAFKA_LOG=${NODE_LOG[1]}
  PGDATA=$STATE/pgdata
  PGRUN=$STATE/pgrun
  PG_LOG=$STATE/postgres.log

  REDIS_PORT=$MILLRACE_REDIS_PORT
  REDIS_URL=redis://127.0.0.1:$REDIS_PORT
  REDIS_DIR=$STATE/redis
  REDIS_CONF=$REDIS_DIR/redis.conf
  REDIS_PID_FILE=$STATE/redis.pid
  REDIS_LOG=$STATE/redis.log

  PROM_PORT=$MILLRACE_PROMETHEUS_PORT
  PROM_URL=http://127.0.0.1:$PROM_PORT
  PROM_DIR=$STATE/prometheus
  PROM_CONFIG=$PROM_DIR/prometheus.yml
  PROM_PID_FILE=$STATE/prometheus.pid
  PROM_LOG=$STATE/prometheus.log

  # SeaweedFS (s3.sh): the S3 API on S3_PORT, master, volume and filer (and
  # each one's gRPC) and the S3 gRPC on the seven ports after it.
  S3_PORT=$MILLRACE_S3_PORT
  S3_ENDPOINT=http://127.0.0.1:$S3_PORT
  S3_REGION=us-east-1
  S3_BUCKET=millrace-archive
  S3_DIR=$STATE/s3
  S3_DATA=$S3_DIR/data
  S3_CONFIG=$S3_DIR/identities.json
  S3_KEYS_DIR=$STATE/s3-keys
  S3_PID_FILE=$STATE/s3.pid
  S3_LOG=$STATE/s3.log

  # Azurite's Blob service (azurite.sh), with its one account,
  # devstoreaccount1.
  AZURITE_PORT=$MILLRACE_AZURITE_PORT
  AZURITE_ACCOUNT=devstoreaccount1
  AZURITE_CONTAINER=millrace-archive
  AZURITE_ACCOUNT_URL=http://127.0.0.1:$AZURITE_PORT/$AZURITE_ACCOUNT
  AZURITE_URL=$AZURITE_ACCOUNT_URL/$AZURITE_CONTAINER
  AZURITE_DIR=$STATE/azurite
  AZURITE_DATA=$AZURITE_DIR/data
  AZURITE_KEY_FILE=$AZURITE_DIR/key
  AZURITE_SAS_FILE=$AZURITE_DIR/sas
  AZURITE_PID_FILE=$STATE/azurite.pid
  AZURITE_LOG=$STATE/azurite.log
}

describe_key() { printf '%s (--%s)' "$1" "${KEY_FLAGS[$1]#--}"; }

validate_settings() {
  local key i port
  [[ $MILLRACE_KAFKA_BROKERS =~ ^[1-5]$ ]] ||
    die "$(describe_key MILLRACE_KAFKA_BROKERS) must be a node count from 1 to 5, got '$MILLRACE_KAFKA_BROKERS'"
  [[ $MILLRACE_KAFKA_SECURE_PORT =~ ^[0-9]{1,5}$ ]] && ((MILLRACE_KAFKA_SECURE_PORT <= 65535)) ||
    die "$(describe_key MILLRACE_KAFKA_SECURE_PORT) must be a port number (0: none), got '$MILLRACE_KAFKA_SECURE_PORT'"
  if ((MILLRACE_KAFKA_SECURE_PORT != 0 && MILLRACE_KAFKA_BROKERS != 1)); then
    die "--secure takes a one-node Kafka (--brokers 1)"
  fi
  for key in MILLRACE_KAFKA_PORT MILLRACE_KAFKA_CONTROLLER_PORT MILLRACE_PG_PORT \
    MILLRACE_REDIS_PORT MILLRACE_PROMETHEUS_PORT MILLRACE_S3_PORT MILLRACE_AZURITE_PORT; do
    if ! [[ ${!key} =~ ^[0-9]{1,5}$ ]] || ((${!key} < 1 || ${!key} > 65535)); then
      die "$(describe_key "$key") must be a port number, got '${!key}'"
    fi
  done
  [[ ${MILLRACE_PG_STATEMENT_STATS:-off} =~ ^(on|off)$ ]] ||
    die "MILLRACE_PG_STATEMENT_STATS must be on or off, got '$MILLRACE_PG_STATEMENT_STATS'"
  ((MILLRACE_S3_PORT + 7 <= 65535)) ||
    die "$(describe_key MILLRACE_S3_PORT) takes the seven ports after it too; $MILLRACE_S3_PORT is too high"
  # Every node's broker and controller port, PostgreSQL's and Redis' must
  # differ (Prometheus' and the object stores' are checked when they are
  # started: check_prometheus_port, check_objstore_ports).
  [[ $MILLRACE_REDIS_PORT != "$MILLRACE_PG_PORT" ]] ||
    die "MILLRACE_REDIS_PORT (--redis-port) must differ from MILLRACE_PG_PORT (--pg-port): both are $MILLRACE_PG_PORT"
  local -A taken=([$MILLRACE_PG_PORT]=postgres [$MILLRACE_REDIS_PORT]=redis)
  for ((i = 1; i <= MILLRACE_KAFKA_BROKERS; i++)); do
    for port in $((MILLRACE_KAFKA_PORT + 2 * (i - 1))) $((MILLRACE_KAFKA_CONTROLLER_PORT + 2 * (i - 1))); do
      ((port <= 65535)) || die "Kafka node $i would need port $port, above 65535"
      [[ -z ${taken[$port]:-} ]] ||
        die "the Kafka, Kafka controller, PostgreSQL and Redis ports must differ: $port is used twice" \
          "(Kafka $MILLRACE_KAFKA_PORT, controller $MILLRACE_KAFKA_CONTROLLER_PORT, PostgreSQL $MILLRACE_PG_PORT," \
          "Redis $MILLRACE_REDIS_PORT, $MILLRACE_KAFKA_BROKERS node(s), node i on the ports + 2(i-1))"
      taken[$port]=kafka
    done
  done
  for key in MILLRACE_TOPIC MILLRACE_DLQ_TOPIC; do
    [[ ${!key} =~ ^[A-Za-z0-9._-]{1,249}$ ]] ||
      die "$(describe_key "$key") is not a valid Kafka topic name: '${!key}'"
  done
  [[ $MILLRACE_TOPIC != "$MILLRACE_DLQ_TOPIC" ]] ||
    die "MILLRACE_DLQ_TOPIC (--dlq-topic) must differ from MILLRACE_TOPIC"
  [[ $MILLRACE_PARTITIONS =~ ^[1-9][0-9]{0,4}$ ]] ||
    die "$(describe_key MILLRACE_PARTITIONS) must be a positive integer, got '$MILLRACE_PARTITIONS'"
  # Both end up inside PostgreSQL's config as quoted strings.
  [[ $STATE != *[\'\\]* ]] || die "the state dir path must not contain quotes or backslashes: $STATE"
}


# The recorded ports are what clients use; they cannot move under a server
# that is running.
check_running_ports() {
  local key
  if ((KAFKA_RUNNING > 0)); then
    for key in MILLRACE_KAFKA_PORT MILLRACE_KAFKA_CONTROLLER_PORT MILLRACE_KAFKA_BROKERS; do
      [[ -z ${RECORDED[$key]:-} || ${RECORDED[$key]} == "${!key}" ]] ||
        die "kafka is running with $key=${RECORDED[$key]}; run 'deploy/local/stack down kafka' before changing it to ${!key}"
    done
  fi
  if [[ $PG_STATE == running ]]; then
    key=MILLRACE_PG_PORT
    [[ -z ${RECORDED[$key]:-} || ${RECORDED[$key]} == "${!key}" ]] ||
      die "postgres is running with $key=${RECORDED[$key]}; run 'deploy/local/stack down postgres' before changing it to ${!key}"
  fi
  if [[ $REDIS_STATE == running ]]; then
    key=MILLRACE_REDIS_PORT
    [[ -z ${RECORDED[$key]:-} || ${RECORDED[$key]} == "${!key}" ]] ||
      die "redis is running with $key=${RECORDED[$key]}; run 'deploy/local/stack down redis' before changing it to ${!key}"
  fi
  if [[ $PROM_STATE == running ]]; then
    key=MILLRACE_PROMETHEUS_PORT
    [[ -z ${RECORDED[$key]:-} || ${RECORDED[$key]} == "${!key}" ]] ||
      die "prometheus is running with $key=${RECORDED[$key]}; run 'deploy/local/stack down prometheus' before changing it to ${!key}"
  fi
  if [[ $S3_STATE == running ]]; then
    key=MILLRACE_S3_PORT
    [[ -z ${RECORDED[$key]:-} || ${RECORDED[$key]} == "${!key}" ]] ||
      die "s3 is running with $key=${RECORDED[$key]}; run 'deploy/local/stack down s3' before changing it to ${!key}"
  fi
  if [[ $AZURITE_STATE == running ]]; then
    key=MILLRACE_AZURITE_PORT
    [[ -z ${RECORDED[$key]:-} || ${RECORDED[$key]} == "${!key}" ]] ||
      die "azurite is running with $key=${RECORDED[$key]}; run 'deploy/local/stack down azurite' before changing it to ${!key}"
  fi
}

# The object stores' ports (only 'up s3', 'up azurite' and 'up objstore'
# start them) must not be ones another server of this stack listens on, nor
# each other's; checked only for those wanted ($1 s3, $2 azurite: 1 when
# wanted; $3 1 when Prometheus is too).
check_objstore_ports() {
  local want_s3=$1 want_azurite=$2 want_prom=$3 i port
  local -A taken=([$PG_PORT]=PostgreSQL [$REDIS_PORT]=Redis)
  for ((i = 1; i <= NODES; i++)); do
    taken[${NODE_PORT[i]}]=Kafka
    taken[${NODE_CONTROLLER_PORT[i]}]="the Kafka controller"
  done
  ((SECURE_PORT == 0)) || taken[$SECURE_PORT]="Kafka's SASL_SSL listener"
  if ((want_prom)); then taken[$PROM_PORT]=Prometheus; fi
  if ((want_s3)); then
    for ((port = S3_PORT; port <= S3_PORT + 7; port++)); do
      [[ -z ${taken[$port]:-} ]] ||
        die "MILLRACE_S3_PORT (--s3-port) and the seven ports after it must differ from the" \
          "ports of the other servers: $port is ${taken[$port]}'s"
      taken[$port]=SeaweedFS
    done
  fi
  if ((want_azurite)); then
    [[ -z ${taken[$AZURITE_PORT]:-} ]] ||
      die "MILLRACE_AZURITE_PORT (--azurite-port) must differ from the ports of the other" \
        "servers: $AZURITE_PORT is ${taken[$AZURITE_PORT]}'s"
  fi
  return 0
}
