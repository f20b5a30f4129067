#!/usr/bin/env bash
# The archiver against real object stores (SeaweedFS's S3 API and Azurite,
# started by the stack), on a topic, schema, group and prefix of the test's
# own. What is archived is read back with the stores' own SDKs (boto3,
# azure-storage-blob) and fastavro, never with Millrace's code.
#
#   objstore_test.sh s3 SOURCE_DIR BUILD_DIR      (fault.archive-s3)
#   objstore_test.sh azure SOURCE_DIR BUILD_DIR   (fault.archive-azure)
#     Records of 48 KiB (so that a partition's file of a 4 s window goes up
#     in parts of 5 MiB: a multipart upload, or Azure blocks) produced
#     while millrace-archiver runs behind a slow proxy (the store takes
#     what is sent at 3 MB/s, after 20 ms a chunk). The archiver is
#     SIGKILLed twice in the middle of an upload (a multipart upload or
#     uncommitted blocks seen in the store), and the store is stopped and
#     started again while the archiver runs (/readyz says archive_store
#     meanwhile). Then no marker under .staging/ and no unfinished upload
#     anywhere under the prefix is left (each file goes up as an upload
#     under its place, completed after its commit),
#     `millrace archive verify` passes, and every offset of every partition
#     is in exactly one object, byte-identical to what kcat reads from the
#     topic. `archive replay` puts the records into a new topic (a rerun
#     adds nothing). Finally an object overwritten and a stray one make
#     verify fail, naming both.
#
#   objstore_test.sh credentials SOURCE_DIR BUILD_DIR  (integration.archive-store-credentials)
#     For each store: the archiver started with credentials the store
#     refuses keeps running, /readyz answers 503 naming archive_store and
#     the store's refusal, nothing is recorded and no offset stored, and no
#     secret reaches its log; restarted with the right ones, it archives
#     every record.
#
# MILLRACE_STATE_DIR names the stack (tests/in_stack.sh), whose object
# stores must be up (the objstore fixture).
set -euo pipefail

mode=$1
src=$2
build=$3
# shellcheck source=tests/archive/lib.sh
source "$src/tests/archive/lib.sh"
: "${MILLRACE_S3_ENDPOINT:?the S3 store of the stack is not up (stack up s3)}"
: "${MILLRACE_AZURE_BLOB_URL:?Azurite of the stack is not up (stack up azurite)}"
"$python" -c 'import boto3, azure.storage.blob' 2>/dev/null ||
  fail "boto3 and azure-storage-blob are not installed in $src/.cache/venv; run scripts/bootstrap"
# The stack's own command, without this test's settings: `up` records the
# MILLRACE_* settings it is given (this test's topic would become the
# stack's).
stack() {
  env -i PATH="$PATH" HOME="${HOME:-/root}" TMPDIR="${TMPDIR:-/tmp}" \
    MILLRACE_STATE_DIR="${MILLRACE_STATE_DIR:-$src/.state/local}" "$src/deploy/local/stack" "$@"
}
tool() { "$python" "$src/tests/archive/store_tool.py" "$@"; }
free_port() { "$src/tests/support/free-port"; }

metrics_port=$(free_port)
export MILLRACE_METRICS_ADDR=127.0.0.1:$metrics_port
ready_body() { curl -s --max-time 5 "http://127.0.0.1:$metrics_port/readyz" || true; }
ready_status() { curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$metrics_port/readyz" || true; }
# Waits until /readyz names archive_store (or, with "ready", answers 200).
wait_ready_says() {
  for _ in $(seq 1 300); do
    if [[ $1 == ready ]]; then
      [[ $(ready_status) == 200 ]] && return 0
    elif [[ $(ready_status) == 503 ]] && ready_body | grep -q "$1"; then
      return 0
    fi
    sleep 0.2
  done
  fail "/readyz never said '$1' (last: $(ready_status) $(ready_body))"
}

proxy_pid=
stop_proxy() {
  if [[ -n $proxy_pid ]]; then
    kill "$proxy_pid" 2>/dev/null || true
    wait "$proxy_pid" 2>/dev/null || true
  fi
  proxy_pid=
}
# A store this test stopped is started again, whatever happens: the other
# tests of the stack need it.
stopped_store=
trap 'stop_proxy; if [[ -n $stopped_store ]]; then stack up "$stopped_store" >/dev/null 2>&1 || true; fi; cleanup' EXIT
# A slow way to the store at host:port, on port $proxy_port. Not called in
# a $(...): the proxy's pid must reach this shell, which stops it at exit.
proxy_port=
start_proxy() {
  proxy_port=$(free_port)
  "$python" "$src/tests/archive/slow_proxy.py" "$proxy_port" "$1" "$2" 3000000 20 >"$work/proxy.out" 2>&1 &
  proxy_pid=$!
  for _ in $(seq 1 100); do
    grep -q ready "$work/proxy.out" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "the slow proxy did not start: $(cat "$work/proxy.out")"
}

# 48 KiB records, base64 lines, produced by kcat in bursts.
produce_big() {
  local n=$1 seed=$2
  "$python" - "$n" "$seed" >"$work/big.$seed" <<'PY'
import base64, random, sys
n, seed = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(seed)
for _ in range(n):
    print(base64.b64encode(rng.randbytes(36 * 1024)).decode())
PY
  kcat -P -b "$MILLRACE_BROKERS" -t "$name" -l "$work/big.$seed" || fail "kcat could not produce"
}

# The whole topic as kcat reads it, for check_archive.py.
dump_topic() {
  kcat -C -b "$MILLRACE_BROKERS" -t "$name" -e -q -f '%p %o %K %S %h\n%k%s\n' >"$work/topic.dump"
}

check_store() {
  local url=$1 pending
  pending=$(tool pending "$url")
  [[ $pending == "0 0" ]] || fail "left in the store (markers under .staging/, unfinished uploads): $pending"
  "$millrace" archive verify --archive-url "$url" >"$work/verify.out" 2>&1 ||
    fail "archive verify found discrepancies: $(tail -20 "$work/verify.out")"
  tail -3 "$work/verify.out"
  dump_topic
  "$python" "$src/tests/archive/check_archive.py" "$url" shop "$name" "$work/topic.dump" ||
    fail "the store's SDK and fastavro disagree with the topic"
}

# Replays everything into a new topic, twice; the second run adds nothing.
check_replay() {
  local url=$1 target=${name}_replay first second
  MILLRACE_TOPIC=$target MILLRACE_DLQ_TOPIC=$target.dlq MILLRACE_CHANGES_TOPIC=$target.changes \
    "$millrace" create-topics >/dev/null
  first=$("$millrace" archive replay --archive-url "$url" --topic "$target" \
    --from 2000-01-01T00:00:00Z --to 2100-01-01T00:00:00Z --progress never) || fail "replay 1: $first"
  second=$("$millrace" archive replay --archive-url "$url" --topic "$target" \
    --from 2000-01-01T00:00:00Z --to 2100-01-01T00:00:00Z --progress never) || fail "replay 2: $second"
  local total
  total=$(end_total)
  [[ $first == *"\"records\":$total,"* && $first == *"\"delivered\":$total,"* ]] ||
    fail "the first replay did not deliver all $total records: $first"
  [[ $second == *"\"already_in_topic\":$total,"* && $second == *"\"produced\":0,"* ]] ||
    fail "the second replay produced again: $second"
  echo "replay: $total records into $target, and nothing on the second run"
}

# The archive's checks catch an overwritten object and a stray one.
check_verify_finds() {
  local url=$1 victim
  victim=$(psql -qtA "$MILLRACE_PG" -c "SELECT path FROM $name.archive_files WHERE records > 0 ORDER BY path LIMIT 1")
  tool put "$url" "$victim" "not what was archived"
  tool put "$url" "shop/$name/0/stray.avro" "stray"
  if "$millrace" archive verify --archive-url "$url" >"$work/verify-bad.out" 2>&1; then
    fail "archive verify passed over an overwritten and a stray object"
  fi
  grep -q "^$victim: size" "$work/verify-bad.out" || fail "verify did not name $victim: $(cat "$work/verify-bad.out")"
  grep -q "^shop/$name/0/stray.avro: in the archive but recorded by no row" "$work/verify-bad.out" ||
    fail "verify did not name the stray object: $(cat "$work/verify-bad.out")"
  echo "verify names the overwritten and the stray object"
}

faults() {
  local store=$1 url host port proxy server=s3
  [[ $store == azure ]] && server=azurite
  if [[ $store == s3 ]]; then
    url=s3://$MILLRACE_S3_BUCKET/$name
    host=${MILLRACE_S3_ENDPOINT#http://}
  else
    url=$MILLRACE_AZURE_BLOB_URL/$name
    host=${MILLRACE_AZURE_BLOB_URL#http://}
    host=${host%%/*}
  fi
  port=${host##*:}
  host=${host%:*}
  start_proxy "$host" "$port"
  proxy=$proxy_port
  # The archiver goes through the proxy; the checks go straight to the store.
  local slow=$url
  if [[ $store == s3 ]]; then
    export_slow() { MILLRACE_S3_ENDPOINT=http://127.0.0.1:$proxy "$@"; }
  else
    slow=http://127.0.0.1:$proxy/${url#http://*/}
    export_slow() { MILLRACE_AZURE_KEY_FILE= "$@"; }
  fi
  archiver_run() {
    export_slow start_archiver "$1" --archive-url "$slow" --window-s 4 --max-mb 12 --archive-part-mb 5
  }
  archiver_run 1
  wait_ready_says ready
  local seed=0
  for kill in 1 2; do
    seed=$((seed + 1))
    produce_big 600 "$seed"
    tool wait-upload "$url" 60 || fail "kill $kill: no upload was ever seen unfinished"
    kill -9 "$archiver_pid"
    wait "$archiver_pid" 2>/dev/null && fail "kill $kill: the archiver was not killed"
    echo "kill $kill: SIGKILL in the middle of an upload ($(tool pending "$url") staged/unfinished)"
    archiver_run $((kill + 1))
  done
  # The store stops while records arrive, and comes back.
  produce_big 300 10
  stopped_store=$server
  stack down "$server" >/dev/null
  if [[ $server == s3 ]]; then
    # weed leaves unix sockets in /tmp, named by its ports; the stack removes them.
    local p left=""
    for ((p = port; p <= port + 7; p++)); do
      left+=$(compgen -G "/tmp/seaweedfs-*-$p.sock" || true)
    done
    [[ -z $left ]] || fail "stack down s3 left weed's sockets in /tmp: $left"
  fi
  wait_ready_says archive_store
  echo "store down: /readyz says $(ready_body | tr -d '\n' | cut -c1-160)"
  sleep 3
  stack up "$server" >/dev/null
  stopped_store=
  produce_big 300 11
  wait_caught_up
  wait_ready_says ready
  stop_archiver
  stop_proxy
  check_store "$url"
  check_replay "$url"
  check_verify_finds "$url"
  echo "objstore_test $store: passed ($(end_total) records, 2 kills mid-upload, a store restart)"
}

credentials() {
  local url=$1 secret_var=$2 wrong=$3 secret_text=$4
  local log=$logs/$name.archiver.log
  : >"$log"
  env "$secret_var=$wrong" "$archiver" --archive-url "$url" --window-s 1 >>"$log" 2>&1 &
  archiver_pid=$!
  "$millrace" produce --count 2000 --seed 3 >/dev/null
  wait_ready_says archive_store
  local body
  body=$(ready_body)
  [[ $body == *"refused the credentials"* ]] || fail "/readyz does not say the credentials were refused: $body"
  sleep 5
  kill -0 "$archiver_pid" || fail "the archiver died on refused credentials: $(tail -5 "$log")"
  local rows stored
  rows=$(psql -qtA "$MILLRACE_PG" -c "SELECT count(*) FROM $name.archive_files")
  stored=$(stored_total)
  [[ $rows == 0 && $stored == 0 ]] || fail "with refused credentials, $rows file(s) were recorded and $stored offsets stored"
  grep -q "refused the credentials" "$log" || fail "the log does not say what was refused: $(tail -5 "$log")"
  if grep -qF -- "$secret_text" "$log"; then fail "the refused secret is in the log"; fi
  echo "refused credentials: /readyz $(ready_status): $(echo "$body" | tr -d '\n' | cut -c1-200)"
  stop_archiver
  start_archiver 2 --archive-url "$url" --window-s 1
  wait_caught_up
  stop_archiver
  rows=$(psql -qtA "$MILLRACE_PG" -c "SELECT coalesce(sum(records), 0) FROM $name.archive_files")
  [[ $rows == "$(end_total)" ]] || fail "with the right credentials, $rows of $(end_total) records were archived"
  psql -q "$MILLRACE_PG" -c "DELETE FROM $name.archive_files; DELETE FROM $name.consumer_offsets" >/dev/null
}

case $mode in
s3 | azure)
  faults "$mode"
  ;;
credentials)
  wrong_secret=wrong-$RANDOM-secret
  credentials "s3://$MILLRACE_S3_BUCKET/$name" AWS_SECRET_ACCESS_KEY "$wrong_secret" "$wrong_secret"
  # A shared key (no SAS token) that is not the account's.
  wrong_key=$(head -c 64 /dev/urandom | base64 -w0)
  printf '%s' "$wrong_key" >"$work/wrong.key"
  MILLRACE_AZURE_SAS_FILE='' credentials "$MILLRACE_AZURE_BLOB_URL/$name" MILLRACE_AZURE_KEY_FILE \
    "$work/wrong.key" "$wrong_key"
  echo "objstore_test credentials: passed (S3 and Azure Blob)"
  ;;
*)
  fail "unknown mode $mode"
  ;;
esac
