#!/usr/bin/env bash
# integration.secrets: every service and every CLI command, given known
# secrets, never prints them, in its logs, its --check-config report, its
# errors (a refused Kafka property) or its metrics.
#
#   secrets_test.sh SOURCE_DIR BUILD_DIR
#
# The secrets are in effect, not only in the environment: the PostgreSQL
# passwords are those of roles of the test's own (password authentication,
# SCRAM), so a service that runs connected with one; the Kafka properties
# are set on every client (a PEM private key with blanks, a SASL password, a
# key password); the HTTP tokens guard the producer's and the API's routes;
# the webhook secret signs. Each service is started, runs until it serves
# its metrics (scraped), and is stopped with SIGTERM; then started again
# with a Kafka property librdkafka refuses, whose value is a secret, and
# must exit with an error. Everything printed is then searched for every
# secret, and for the parts of the PEM.
#
# MILLRACE_STATE_DIR names the stack (tests/in_stack.sh).
set -euo pipefail

. "$(dirname "$0")/setup.sh" sec "$1" "$2"
out=$work/out   # everything the programs print, one file per run
mkdir -p "$out"
secret() { printf 'S3c%s%s%s' "$1" "$RANDOM" "$RANDOM"; }
pg_secret=$(secret pg)
cf_secret=$(secret cf)
pem_body=$(secret pem)
sasl_secret=$(secret sasl)
keypw_secret=$(secret keypw)
oauth_secret=$(secret oauth)
auth_token=$(secret auth)
admin_token=$(secret admin)
read_token=$(secret read)
webhook_secret=whsec_$(head -c 24 /dev/urandom | base64)
secrets=("$pg_secret" "$cf_secret" "$pem_body" "$sasl_secret" "$keypw_secret" "$oauth_secret"
  "$auth_token" "$admin_token" "$read_token" "$webhook_secret" "${webhook_secret#whsec_}"
  "BEGIN PRIVATE KEY" "END PRIVATE KEY")

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  psql -X -q "$superuser" -c "SELECT pg_drop_replication_slot('$name') FROM pg_replication_slots WHERE slot_name = '$name'" \
    >/dev/null 2>&1 || true
  psql -X -q "$superuser" -c "DROP SCHEMA IF EXISTS $name CASCADE" \
    -c "DROP PUBLICATION IF EXISTS $name" >/dev/null 2>&1 || true
  psql -X -q "$superuser" -c "DROP OWNED BY $name, ${name}_cf" -c "DROP ROLE IF EXISTS $name" \
    -c "DROP ROLE IF EXISTS ${name}_cf" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# Roles of the test's own with the secret passwords. They inherit what the
# stack's roles may do, so the services run as they do in the demo.
psql -X -q -v ON_ERROR_STOP=1 "$superuser" >/dev/null <<SQL
CREATE ROLE $name LOGIN PASSWORD '$pg_secret' IN ROLE millrace;
CREATE ROLE ${name}_cf LOGIN REPLICATION PASSWORD '$cf_secret' IN ROLE millrace_changefeed, millrace;
SQL

export MILLRACE_BROKERS
export MILLRACE_PG="postgresql://$name:$pg_secret@127.0.0.1:$pg_port/millrace"
export MILLRACE_CHANGEFEED_PG="host=127.0.0.1 port=$pg_port dbname=millrace user=${name}_cf password=$cf_secret"
export MILLRACE_API_PG=$MILLRACE_PG MILLRACE_API_ADMIN_PG=$MILLRACE_PG
export MILLRACE_PG_SCHEMA=$name MILLRACE_TOPIC=$name MILLRACE_DLQ_TOPIC=$name.dlq
export MILLRACE_CHANGES_TOPIC=$name.changes MILLRACE_API_DEAD_LETTER_TOPICS=$name.dlq
export MILLRACE_SINK_GROUP=${name}_sink MILLRACE_AGGREGATOR_GROUP=${name}_agg
export MILLRACE_ARCHIVER_GROUP=${name}_arch MILLRACE_WEBHOOKS_GROUP=${name}_hooks
export MILLRACE_CHANGEFEED_SLOT=$name MILLRACE_CHANGEFEED_PUBLICATION=$name
export MILLRACE_ARCHIVE_ROOT=$work/archive MILLRACE_CACHE_PREFIX=$name:
export MILLRACE_METRICS_ADDR=127.0.0.1:0 MILLRACE_SESSION_TIMEOUT_MS=6000
export MILLRACE_AUTH_TOKEN=$auth_token MILLRACE_API_ADMIN_TOKEN=$admin_token
export MILLRACE_API_READ_TOKEN=$read_token
kafka_properties="ssl.key.pem=-----BEGIN PRIVATE KEY----- $pem_body -----END PRIVATE KEY-----"
kafka_properties+=",sasl.password=$sasl_secret,ssl.key.password=$keypw_secret,linger.ms=5"
export MILLRACE_KAFKA_PROPERTIES=$kafka_properties

# Prints each secret found in the files under DIR, with the files.
search() {
  local s hits
  for s in "${secrets[@]}"; do
    if hits=$(grep -rlF -- "$s" "$1"); then
      echo "\"$s\" in: $(tr '\n' ' ' <<<"$hits")"
    fi
  done
}
# The search itself can fail: it finds every secret where they are given.
mkdir -p "$work/control"
{ env; echo "$oauth_secret $webhook_secret"; } >"$work/control/given"
found=$(search "$work/control" | wc -l)
((found == ${#secrets[@]})) ||
  { echo "secrets_test: the search found $found of ${#secrets[@]} secrets where they are given" >&2; exit 1; }

# Runs a CLI command, its output kept; it must succeed.
cli() {
  local label=$1
  shift
  if ! "$millrace" "$@" >"$out/cli-$label" 2>&1; then
    echo "secrets_test: millrace $* failed:" >&2
    cat "$out/cli-$label" >&2
    exit 1
  fi
}
cli migrate migrate
cli migrate-check migrate --check-config
cli create-topics create-topics
cli create-topics-check create-topics --check-config
cli produce produce --count 300 --bad-ratio 0.1
cli produce-check produce --count 1 --check-config
cli views views hourly_sales
cli views-check views --check-config
cli changefeed-publish changefeed publish
cli webhooks-add webhooks add --url http://127.0.0.1:9/x --allow-private --secret "$webhook_secret"
endpoint=$(sed -nE 's/^endpoint ([0-9]+):.*/\1/p' "$out/cli-webhooks-add")
cli webhooks-rotate webhooks rotate-secret --endpoint "$endpoint" --secret "$webhook_secret"
cli webhooks-list webhooks list
cli webhooks-check webhooks add --url http://127.0.0.1:9/y --secret "$webhook_secret" --check-config
cli api-grant-check api grant --reader "$name" --check-config
mkdir -p "$MILLRACE_ARCHIVE_ROOT"
cli archive-list archive list
cli archive-check archive verify --check-config


# Starts SERVICE, waits until it serves /metrics at URL_OF (a function that
# reads its log), scrapes it, stops it with SIGTERM and checks it exited 0.
run_service() {
  local service=$1 ready=$2
  local log=$out/$service.log
  "$build/bin/millrace-$service" --check-config >"$out/$service.check" 2>&1 ||
    { echo "secrets_test: $service --check-config failed" >&2; cat "$out/$service.check" >&2; exit 1; }
  "$build/bin/millrace-$service" >"$log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  local url=
  for _ in $(seq 1 300); do
    url=$($ready "$log")
    [[ -n $url ]] && curl -fsS "$url" >"$out/$service.metrics" 2>/dev/null && break
    url=
    kill -0 "$pid" 2>/dev/null || { echo "secrets_test: $service exited:" >&2; cat "$log" >&2; exit 1; }
    sleep 0.2
  done
  [[ -n $url ]] || { echo "secrets_test: $service never served its metrics" >&2; cat "$log" >&2; exit 1; }
  grep -q '^# TYPE' "$out/$service.metrics" ||
    { echo "secrets_test: $service's metrics are empty" >&2; exit 1; }
  sleep 2  # let it work a little: connect, join, read
  curl -fsS "$url" >"$out/$service.metrics2"
  kill -TERM "$pid"
  local status=0
  wait "$pid" || status=$?
  ((status == 0)) || { echo "secrets_test: $service exited $status on SIGTERM" >&2; cat "$log" >&2; exit 1; }
  echo "secrets_test: $service ran and stopped"
}
# The service's log may not exist yet: the shell that starts it in the
# background opens it, and on a loaded machine that comes after the first
# look (set -e ended the test on sed's failure once).
metrics_url() {
  [[ -f $1 ]] || return 0
  sed -nE 's|.*metrics at (http://[^ ]+/metrics).*|\1|p' "$1" | head -1
}
http_port=
http_url() { echo "http://127.0.0.1:$http_port/metrics"; }

# A refused Kafka property whose value is a secret (Debian's librdkafka has
# no OAuth/OIDC): the service must exit 1, saying which property.
refused_property() {
  local service=$1 log=$out/$1.refused
  local status=0
  MILLRACE_KAFKA_PROPERTIES="$kafka_properties,sasl.oauthbearer.client.secret=$oauth_secret" \
    timeout 60 "$build/bin/millrace-$service" >"$log" 2>&1 || status=$?
  ((status == 1)) || { echo "secrets_test: $service exited $status with a refused property" >&2; cat "$log" >&2; exit 1; }
  grep -qF "sasl.oauthbearer.client.secret (value not shown)" "$log" ||
    { echo "secrets_test: $service did not name the refused property" >&2; cat "$log" >&2; exit 1; }
}

for service in sink aggregator archiver webhooks cache changefeed; do
  run_service "$service" metrics_url
  refused_property "$service"
done
for service in producer api; do
  http_port=$(free_port)
  if [[ $service == producer ]]; then export MILLRACE_HTTP_ADDR=127.0.0.1:$http_port; else export MILLRACE_API_ADDR=127.0.0.1:$http_port; fi
  run_service "$service" http_url
  refused_property "$service"
done
# A refused property in a CLI command.
status=0
MILLRACE_KAFKA_PROPERTIES="$kafka_properties,sasl.oauthbearer.client.secret=$oauth_secret" \
  "$millrace" produce --count 1 >"$out/cli-produce-refused" 2>&1 || status=$?
((status != 0)) && grep -qF "value not shown" "$out/cli-produce-refused" ||
  { echo "secrets_test: produce with a refused property:" >&2; cat "$out/cli-produce-refused" >&2; exit 1; }

# The PostgreSQL secrets were in use: the sink wrote as the test's role.
rows=$(psql -X -At "$superuser" -c "SELECT count(*) FROM $name.consumer_offsets WHERE group_id = '${name}_sink'")
((rows > 0)) || { echo "secrets_test: the sink committed nothing" >&2; exit 1; }

leaks=$(search "$out")
[[ -z $leaks ]] || { echo "secrets_test: printed secrets:" >&2; echo "$leaks" >&2; exit 1; }
echo "secrets_test: $(ls "$out" | wc -l) outputs of 8 services and $(ls "$out" | grep -c '^cli-') CLI runs hold none of ${#secrets[@]} secrets"
