#!/usr/bin/env bash
# integration.pg-tls: the sink over TLS to PostgreSQL with
# sslmode=verify-full, checked against the stack's own CA (deploy/local/stack
# makes it with openssl: MILLRACE_STACK_CA).
#
#   pg_tls_test.sh SOURCE_DIR BUILD_DIR
#
# 2,000 events later the sink has accounted for all of them, and every one
# of its sessions PostgreSQL lists is encrypted (pg_stat_ssl). A sink given
# another CA, or a host name the certificate does not name, does not start:
# it exits 1 saying the certificate could not be verified, without its
# password.
#
# MILLRACE_STATE_DIR names the stack (tests/in_stack.sh).
set -euo pipefail

. "$(dirname "$0")/setup.sh" pgtls "$1" "$2"
: "${MILLRACE_STACK_CA:?the stack printed no MILLRACE_STACK_CA}"

sink_pid=
cleanup() {
  [[ -n $sink_pid ]] && kill -9 "$sink_pid" 2>/dev/null || true
  psql -X -q "$MILLRACE_PG" -c "DROP SCHEMA IF EXISTS $name CASCADE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The stack's role and password over TLS, the server checked by name.
credentials=$(sed -E 's|^postgresql://([^@]+)@.*|\1|' <<<"$MILLRACE_PG")
tls_url="postgresql://$credentials@localhost:$pg_port/millrace?sslmode=verify-full&sslrootcert=$MILLRACE_STACK_CA"
export MILLRACE_BROKERS MILLRACE_PG_SCHEMA=$name MILLRACE_TOPIC=$name MILLRACE_DLQ_TOPIC=$name.dlq
export MILLRACE_CHANGES_TOPIC=$name.changes MILLRACE_SINK_GROUP=${name}_sink
export MILLRACE_METRICS_ADDR=127.0.0.1:0 MILLRACE_SESSION_TIMEOUT_MS=6000
MILLRACE_PG=$tls_url "$millrace" migrate >/dev/null
"$millrace" create-topics >/dev/null

MILLRACE_PG=$tls_url "$build/bin/millrace-sink" >"$logs/$name.sink.log" 2>&1 &
sink_pid=$!
"$millrace" produce --count 2000 --bad-ratio 0.05 >/dev/null
accounted() {
  psql -X -At "$MILLRACE_PG" -c "SELECT coalesce(sum(consumed), 0) = 2000 AND bool_and(unaccounted = 0)
    FROM $name.partition_accounting WHERE group_id = '${name}_sink'"
}
for _ in $(seq 1 600); do
  [[ $(accounted) == t ]] && break
  kill -0 "$sink_pid" 2>/dev/null || { cat "$logs/$name.sink.log" >&2; fail "the sink exited"; }
  sleep 0.2
done
[[ $(accounted) == t ]] || fail "the sink did not account for 2,000 events over TLS"
# Every session of the sink is encrypted, and there is at least one.
read -r sessions plain < <(psql -X -At -F ' ' "$MILLRACE_PG" -c "
  SELECT count(*), count(*) FILTER (WHERE NOT s.ssl)
  FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
  WHERE a.usename = current_user AND a.application_name = 'sink'
    AND a.client_port IS NOT NULL")
((sessions > 0)) || { psql -X -At "$MILLRACE_PG" -c "SELECT application_name, usename, client_port FROM pg_stat_activity" >&2; fail "PostgreSQL lists no session of the sink"; }
((plain == 0)) || fail "$plain of the sink's $sessions sessions are not encrypted"
echo "pg_tls_test: 2,000 events accounted for; the sink's $sessions sessions all TLS (verify-full)"
kill -TERM "$sink_pid"
wait "$sink_pid" || fail "the sink exited $? on SIGTERM"
sink_pid=

# A server the client cannot verify: another CA, then a name not in the
# certificate. The sink must refuse to start, and say why.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=another CA" \
  -keyout "$work/other.key" -out "$work/other.crt" >/dev/null 2>&1
password=${credentials#*:}
for url in "postgresql://$credentials@localhost:$pg_port/millrace?sslmode=verify-full&sslrootcert=$work/other.crt" \
  "postgresql://$credentials@not-in-the-certificate.invalid:$pg_port/millrace?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert=$MILLRACE_STACK_CA"; do
  status=0
  MILLRACE_PG=$url MILLRACE_MIGRATE=false timeout 60 "$build/bin/millrace-sink" >"$work/refused.log" 2>&1 || status=$?
  ((status == 1)) || { cat "$work/refused.log" >&2; fail "the sink exited $status for an unverifiable server"; }
  grep -qiE "certificate verify failed|does not match host name|server certificate for" "$work/refused.log" ||
    { cat "$work/refused.log" >&2; fail "the sink did not say the certificate failed"; }
  ! grep -qF -- ":$password@" "$work/refused.log" || fail "the sink printed its password"
done
echo "pg_tls_test: an unknown CA and a wrong host name are refused at start, with the reason"
