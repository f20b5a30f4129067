#!/usr/bin/env bash
# integration.http-tls: millrace-producer and millrace-api serving HTTPS with
# the stack's server certificate (deploy/local/stack makes it with openssl;
# clients check it against MILLRACE_STACK_CA), and their bearer tokens.
#
#   http_tls_test.sh SOURCE_DIR BUILD_DIR
#
# The producer takes events over HTTPS with its token and refuses them
# without; a plain-HTTP client on its port gets no answer and is counted;
# on SIGHUP it takes a renewed certificate without a restart.
# The API, listening beyond loopback, will not start without a read token;
# with one, its reads need it (or the session cookie POST /v1/session sets,
# Secure over TLS), the live stream included, while /readyz stays open.
#
# MILLRACE_STATE_DIR names the stack (tests/in_stack.sh).
set -euo pipefail

. "$(dirname "$0")/setup.sh" httptls "$1" "$2"
: "${MILLRACE_STACK_CA:?the stack printed no MILLRACE_STACK_CA}"
cert=$MILLRACE_STATE_DIR/tls/server.crt
key=$MILLRACE_STATE_DIR/tls/server.key
[[ -r $cert && -r $key ]] || fail "the stack has no server certificate in $MILLRACE_STATE_DIR/tls"

trap drop_test_state EXIT

# Waits for an HTTPS service's /readyz; fails the test if it exits first.
wait_ready() {
  local url=$1 pid=$2 log=$3
  for _ in $(seq 1 300); do
    curl -fsS --cacert "$MILLRACE_STACK_CA" "$url/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "$(basename "$log" .log) exited"; }
    sleep 0.2
  done
  cat "$log" >&2
  fail "$url/readyz never answered"
}
# curl over TLS, verified against the stack's CA: prints the status code.
status() { curl -s -o "$work/body" -w '%{http_code}' --cacert "$MILLRACE_STACK_CA" "$@"; }

export MILLRACE_BROKERS MILLRACE_PG MILLRACE_PG_SCHEMA=$name MILLRACE_TOPIC=$name
export MILLRACE_DLQ_TOPIC=$name.dlq MILLRACE_CHANGES_TOPIC=$name.changes
export MILLRACE_API_DEAD_LETTER_TOPICS=$name.dlq MILLRACE_METRICS_ADDR=127.0.0.1:0
"$millrace" migrate >/dev/null
"$millrace" create-topics >/dev/null

# --- millrace-producer over HTTPS ------------------------------------------
producer_port=$(free_port)
producer_token=ingest-$RANDOM$RANDOM
producer=https://localhost:$producer_port
# Copies, which the SIGHUP step renews.
mkdir -p "$work/tls"
cp "$cert" "$work/tls/cert.pem"
cp "$key" "$work/tls/key.pem"
MILLRACE_HTTP_ADDR=127.0.0.1:$producer_port MILLRACE_AUTH_TOKEN=$producer_token \
  MILLRACE_HTTP_TLS_CERT=$work/tls/cert.pem MILLRACE_HTTP_TLS_KEY=$work/tls/key.pem \
  "$build/bin/millrace-producer" >"$logs/$name.producer.log" 2>&1 &
pids+=($!)
wait_ready "$producer" "${pids[-1]}" "$logs/$name.producer.log"
grep -qF "serving https://127.0.0.1:$producer_port" "$logs/$name.producer.log" ||
  fail "the producer's log does not say it serves https"

"$millrace" generate --count 20 --seed 7 >"$work/events.ndjson"
code=$(status -H "Authorization: Bearer $producer_token" -H 'Content-Type: application/x-ndjson' \
  --data-binary @"$work/events.ndjson" "$producer/v1/events")
[[ $code == 200 || $code == 202 ]] || { cat "$work/body" >&2; fail "20 events over HTTPS answered $code"; }
code=$(status -H 'Content-Type: application/x-ndjson' --data-binary @"$work/events.ndjson" \
  "$producer/v1/events")
[[ $code == 401 ]] || fail "events over HTTPS without the token answered $code, not 401"
# The events are in Kafka: the producer answers only once they are acknowledged.
stored=$(kcat -C -b "$MILLRACE_BROKERS" -t "$name" -e -q -f '%o\n' 2>/dev/null | wc -l)
((stored == 20)) || fail "the topic holds $stored events, not the 20 sent over HTTPS"
echo "http_tls_test: the producer took 20 events over HTTPS with its token, and refused them without (401)"

# A plain-HTTP client gets no HTTP back, and the handshake failure is counted.
if curl -s --max-time 5 -o "$work/plain" "http://localhost:$producer_port/readyz"; then
  fail "plain HTTP on the TLS port was answered: $(cat "$work/plain")"
fi
grep -q "HTTP/" "$work/plain" 2>/dev/null && fail "plain HTTP on the TLS port got an HTTP answer"
failures=$(curl -fsS --cacert "$MILLRACE_STACK_CA" "$producer/metrics" |
  awk '/^millrace_http_tls_handshake_failures_total/ {print $2}')
[[ ${failures%%.*} -ge 1 ]] ||
  fail "millrace_http_tls_handshake_failures_total is '${failures}' after a plain-HTTP client"
# A client that does not trust the certificate refuses it.
if curl -fsS --max-time 5 "$producer/readyz" >/dev/null 2>&1; then
  fail "curl without the stack's CA accepted the producer's certificate"
fi
echo "http_tls_test: plain HTTP on the TLS port got no answer and was counted ($failures)"

# A renewed certificate (self-signed here, for localhost) in the same files,
# then SIGHUP: new connections get it, without a restart.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost" -keyout "$work/tls/new-key.pem" \
  -out "$work/tls/new-cert.pem" >"$work/openssl.log" 2>&1 || { cat "$work/openssl.log" >&2; fail "openssl failed"; }
cp "$work/tls/new-cert.pem" "$work/tls/cert.pem"
cp "$work/tls/new-key.pem" "$work/tls/key.pem"
kill -HUP "${pids[0]}"
renewed=
for _ in $(seq 1 50); do
  if curl -fsS --cacert "$work/tls/new-cert.pem" "$producer/readyz" >/dev/null 2>&1; then renewed=1; break; fi
  sleep 0.1
done
[[ -n $renewed ]] || { tail -5 "$logs/$name.producer.log" >&2; fail "after SIGHUP the producer does not serve the renewed certificate"; }
kill -0 "${pids[0]}" 2>/dev/null || fail "the producer exited on SIGHUP"
grep -q "SIGHUP: reloaded the TLS certificate" "$logs/$name.producer.log" ||
  fail "the producer's log does not say it reloaded its certificate"
if curl -fsS --max-time 5 --cacert "$MILLRACE_STACK_CA" "$producer/readyz" >/dev/null 2>&1; then
  fail "after SIGHUP the producer still serves the old certificate to new connections"
fi
echo "http_tls_test: on SIGHUP the producer took a renewed certificate, without a restart"

# --- millrace-api over HTTPS, beyond loopback --------------------------------
api_port=$(free_port)
export MILLRACE_API_ADDR=0.0.0.0:$api_port MILLRACE_API_PG=$MILLRACE_PG MILLRACE_REDIS_URL=
export MILLRACE_API_TLS_CERT=$cert MILLRACE_API_TLS_KEY=$key
# Beyond loopback without a read token it does not start, and says why.
exit_status=0
timeout 30 "$build/bin/millrace-api" >"$work/open.log" 2>&1 || exit_status=$?
((exit_status == 2)) || { cat "$work/open.log" >&2; fail "the API without a read token on 0.0.0.0 exited $exit_status, not 2"; }
grep -qF "MILLRACE_API_READ_TOKEN" "$work/open.log" ||
  { cat "$work/open.log" >&2; fail "the refusal does not name MILLRACE_API_READ_TOKEN"; }
MILLRACE_API_ALLOW_OPEN=true "$build/bin/millrace-api" --check-config >/dev/null ||
  fail "MILLRACE_API_ALLOW_OPEN=true did not let the open API's configuration pass"

read_token=read-$RANDOM$RANDOM
MILLRACE_API_READ_TOKEN=$read_token "$build/bin/millrace-api" >"$logs/$name.api.log" 2>&1 &
pids+=($!)
api=https://localhost:$api_port
wait_ready "$api" "${pids[-1]}" "$logs/$name.api.log"

code=$(status "$api/v1/views/hourly_sales")
[[ $code == 401 ]] || fail "a view without the read token answered $code, not 401"
code=$(status -H "Authorization: Bearer $read_token" "$api/v1/views/hourly_sales")
[[ $code == 200 ]] || { cat "$work/body" >&2; fail "a view with the read token answered $code"; }
code=$(status --max-time 5 "$api/v1/stream")
[[ $code == 401 ]] || fail "the live stream without the read token answered $code, not 401"

# The dashboard's way: the token for a Secure, HttpOnly cookie, then reads with it.
code=$(status -c "$work/cookies" -H 'Content-Type: application/json' -d '{"token":"wrong"}' \
  "$api/v1/session")
[[ $code == 401 ]] || fail "a session with a wrong token answered $code, not 401"
code=$(status -c "$work/cookies" -D "$work/session-headers" -H 'Content-Type: application/json' \
  -d "{\"token\":\"$read_token\"}" "$api/v1/session")
[[ $code == 204 ]] || { cat "$work/body" >&2; fail "a session with the read token answered $code"; }
grep -i '^set-cookie: millrace_session=' "$work/session-headers" | grep -q '; Secure' ||
  fail "the session cookie over TLS is not Secure: $(grep -i set-cookie "$work/session-headers")"
code=$(status -b "$work/cookies" "$api/v1/views/top_products")
[[ $code == 200 ]] || fail "a view with the session cookie answered $code"
# The stream with the cookie: its first event is the snapshot.
curl -sN --max-time 10 --cacert "$MILLRACE_STACK_CA" -b "$work/cookies" "$api/v1/stream" \
  >"$work/stream" 2>/dev/null || true
grep -q '^event: snapshot' "$work/stream" ||
  { head -c 500 "$work/stream" >&2; fail "the live stream over TLS with the cookie sent no snapshot"; }
echo "http_tls_test: the API on 0.0.0.0 over HTTPS refused reads without its token (401), served them" \
  "with it and with the Secure session cookie, live stream included"

for pid in "${pids[@]}"; do kill -TERM "$pid"; done
for pid in "${pids[@]}"; do wait "$pid" || fail "a service exited $? on SIGTERM"; done
pids=()
