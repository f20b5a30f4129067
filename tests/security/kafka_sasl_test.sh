#!/usr/bin/env bash
# integration.kafka-sasl: the CLI, the sink and the aggregator over Kafka's
# SASL_SSL listener (deploy/local/stack up --secure: TLS checked against the
# stack's own CA, SCRAM-SHA-512 logins), with nothing but
# MILLRACE_BROKERS and MILLRACE_KAFKA_PROPERTIES to say so.
#
#   kafka_sasl_test.sh SOURCE_DIR BUILD_DIR
#
# 2,000 events produced by `millrace produce` over SASL_SSL are accounted
# for by both groups, and the topics were made by `millrace create-topics`
# over it too. A wrong password, and a CA that did not sign the broker's
# certificate, end the CLI with the reason, without the password.
#
# MILLRACE_STATE_DIR names the stack (tests/in_stack.sh).
set -euo pipefail

. "$(dirname "$0")/setup.sh" sasl "$1" "$2"
: "${MILLRACE_SECURE_BROKERS:?the stack has no SASL_SSL listener (deploy/local/stack up --secure)}"

trap drop_test_state EXIT

export MILLRACE_BROKERS=$MILLRACE_SECURE_BROKERS MILLRACE_KAFKA_PROPERTIES=$MILLRACE_SECURE_KAFKA_PROPERTIES
export MILLRACE_PG MILLRACE_PG_SCHEMA=$name MILLRACE_TOPIC=$name MILLRACE_DLQ_TOPIC=$name.dlq
export MILLRACE_CHANGES_TOPIC=$name.changes MILLRACE_SINK_GROUP=${name}_sink
export MILLRACE_AGGREGATOR_GROUP=${name}_agg
export MILLRACE_METRICS_ADDR=127.0.0.1:0 MILLRACE_SESSION_TIMEOUT_MS=6000
password=$(sed -E 's/.*sasl\.password=([^,]*).*/\1/' <<<"$MILLRACE_KAFKA_PROPERTIES")
[[ -n $password ]] || fail "no sasl.password in MILLRACE_SECURE_KAFKA_PROPERTIES"

"$millrace" migrate >/dev/null
"$millrace" create-topics >"$work/create-topics.log" 2>&1 ||
  { cat "$work/create-topics.log" >&2; fail "create-topics over SASL_SSL failed"; }
for service in sink aggregator; do
  "$build/bin/millrace-$service" >"$logs/$name.$service.log" 2>&1 &
  pids+=($!)
done
"$millrace" produce --count 2000 --bad-ratio 0.05 >"$work/produce.log" 2>&1 ||
  { cat "$work/produce.log" >&2; fail "produce over SASL_SSL failed"; }
accounted() {
  psql -X -At "$MILLRACE_PG" -c "SELECT coalesce(sum(consumed), 0) = 2000 AND bool_and(unaccounted = 0)
    FROM $name.partition_accounting WHERE group_id = '$1'"
}
for group in "${name}_sink" "${name}_agg"; do
  for _ in $(seq 1 600); do
    [[ $(accounted "$group") == t ]] && break
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || { tail -20 "$logs/$name".*.log >&2; fail "a service exited"; }; done
    sleep 0.2
  done
  [[ $(accounted "$group") == t ]] || fail "$group did not account for 2,000 events over SASL_SSL"
  echo "kafka_sasl_test: $group consumed and accounted for 2,000 events over SASL_SSL"
done
for pid in "${pids[@]}"; do kill -TERM "$pid"; done
for pid in "${pids[@]}"; do wait "$pid" || fail "a service exited $? on SIGTERM"; done
pids=()

# The broker's listener refuses a wrong password, and the client refuses a
# broker its CA did not sign. Either way the CLI stops and says why.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=another CA" \
  -keyout "$work/other.key" -out "$work/other.crt" >/dev/null 2>&1
check_refused() {
  local why=$1 properties=$2 status=0
  MILLRACE_KAFKA_PROPERTIES=$properties timeout 120 "$millrace" produce --count 1 >"$work/refused.log" 2>&1 || status=$?
  ((status != 0 && status != 124)) || { cat "$work/refused.log" >&2; fail "produce with $why exited $status"; }
  grep -qiE "$3" "$work/refused.log" || { cat "$work/refused.log" >&2; fail "produce with $why did not say so"; }
  ! grep -qF -- "$password" "$work/refused.log" || fail "produce with $why printed the password"
}
check_refused "a wrong password" "${MILLRACE_SECURE_KAFKA_PROPERTIES/sasl.password=/sasl.password=wrong}" \
  "authentication failed|invalid credentials"
check_refused "an unknown CA" "${MILLRACE_SECURE_KAFKA_PROPERTIES/ssl.ca.location=*/ssl.ca.location=$work/other.crt}" \
  "certificate verify failed|ssl handshake failed"
echo "kafka_sasl_test: a wrong password and an unknown CA are refused, with the reason"
