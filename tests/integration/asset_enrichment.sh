#!/usr/bin/env bash
# integration.asset-enrichment: trades enriched from a reference dataset at a
# REST URL (issue 78). A local HTTP server that is not Millrace's (Python's
# http.server) serves Finnhub-shaped JSON arrays (/stock/symbol with figi and
# mic, /crypto/symbol without type or currency); `millrace catalog load`
# loads them into assets, one of them --every second; millrace-sink --kind
# trade --enrich stores generated trades with the asset's description, type
# and currency, following the assets through the change feed. Checks: every
# stored trade carries its symbol's asset as loaded, an unknown symbol's
# columns are NULL, and a change at the URL reaches the trades stored after
# the next scheduled round, while those stored before keep what they got.
#
#   asset_enrichment.sh SOURCE_DIR BIN_DIR   (MILLRACE_STATE_DIR: the stack)
set -euo pipefail
src=$1
bin=$2
. "$src/tests/stack_env.sh" "$src"
: "${MILLRACE_CHANGEFEED_PG:?the stack printed no MILLRACE_CHANGEFEED_PG}"
feed_role=$(sed -E 's|^[a-z]+://([^:@/]+).*|\1|' <<<"$MILLRACE_CHANGEFEED_PG")
name=assets_$$_$RANDOM
export MILLRACE_PG MILLRACE_BROKERS MILLRACE_CHANGEFEED_PG
export MILLRACE_PG_SCHEMA=$name MILLRACE_TOPIC=$name MILLRACE_TRADES_TOPIC=$name.trades
export MILLRACE_CHANGES_TOPIC=$name.changes MILLRACE_SINK_GROUP=${name}_sink
export MILLRACE_CHANGEFEED_SLOT=${name}_slot MILLRACE_CHANGEFEED_PUBLICATION=${name}_pub
export MILLRACE_BATCH_MS=100
millrace=$bin/millrace
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  "$millrace" changefeed drop-slot --slot "$MILLRACE_CHANGEFEED_SLOT" >/dev/null 2>&1 || true
  psql -X -q "$MILLRACE_PG" -c "DROP PUBLICATION IF EXISTS ${name}_pub" >/dev/null 2>&1 || true
  psql -X -q "$MILLRACE_PG" -c "DROP SCHEMA IF EXISTS $name CASCADE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "asset_enrichment: $*" >&2
  for log in "$work"/*.log; do echo "--- $log" >&2; tail -n 20 "$log" >&2; done
  exit 1
}
sql() { psql -X -At "$MILLRACE_PG" -c "SET search_path = $name; $1" | tail -n 1; }
# Polls `$1` (a command) every 0.2 s, for at most $2 seconds.
waitfor() {
  local what=$1 seconds=$2
  for _ in $(seq 1 $((seconds * 5))); do eval "$what" && return 0; sleep 0.2; done
  fail "waited ${seconds}s for: $what"
}
free_port() { "$src/tests/support/free-port"; }

"$millrace" migrate >/dev/null
"$millrace" create-topics >/dev/null

# What Finnhub answers, as it answers it: one JSON array (application/json).
mkdir -p "$work/www"
write_stock() {
  python3 - "$work/www/stock.json" "$1" <<'PY'
import json, sys
json.dump([
    {"currency": "USD", "description": sys.argv[2], "displaySymbol": "AAPL",
     "figi": "BBG000B9XRY4", "mic": "XNAS", "symbol": "AAPL", "type": "Common Stock"},
    {"currency": "USD", "description": "MICROSOFT CORP", "displaySymbol": "MSFT",
     "figi": "BBG000BPH459", "mic": "XNAS", "symbol": "MSFT", "type": "Common Stock"},
], open(sys.argv[1] + ".tmp", "w"))
PY
  mv "$work/www/stock.json.tmp" "$work/www/stock.json"  # whole, never half-written
}
write_stock "APPLE INC"
echo '[{"description":"Binance BTCUSDT","displaySymbol":"BTC/USDT","symbol":"BINANCE:BTCUSDT"}]' \
  >"$work/www/crypto.json"
port=$(free_port)
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/www" >"$work/server.log" 2>&1 &
pids+=($!)
waitfor "curl -fs http://127.0.0.1:$port/crypto.json >/dev/null" 20
base=http://127.0.0.1:$port

out=$("$millrace" catalog load "$base/crypto.json")
grep -q '"table":"assets"' <<<"$out" && grep -q '"inserted":1,' <<<"$out" ||
  fail "crypto listing: $out"
"$millrace" catalog load --every 1s "$base/stock.json" >"$work/every.out" 2>"$work/every.log" &
pids+=($!)
waitfor "grep -q 'stock.json: 2 inserted' '$work/every.log'" 60
[[ $(sql "SELECT currency FROM assets WHERE symbol = 'AAPL'") == USD ]] || fail "AAPL not loaded"

# The change feed publishes assets by default; the sink follows them.
"$millrace" changefeed publish --grant-select "$feed_role" >/dev/null
[[ $(psql -X -At "$MILLRACE_PG" -c "SELECT count(*) FROM pg_publication_tables WHERE pubname = '${name}_pub' AND tablename = 'assets'") == 1 ]] ||
  fail "the default publication has no assets"
MILLRACE_CLIENT_ID=$name-feed MILLRACE_METRICS_ADDR=127.0.0.1:$(free_port) \
  "$bin/millrace-changefeed" >"$work/changefeed.log" 2>&1 &
pids+=($!)
streaming() {
  [[ $(psql -X -At "$MILLRACE_PG" -c "SELECT count(*) FROM pg_replication_slots WHERE active AND confirmed_flush_lsn IS NOT NULL AND slot_name = '${name}_slot'") == 1 ]]
}
waitfor streaming 120
sink_metrics=127.0.0.1:$(free_port)
MILLRACE_KIND=trade MILLRACE_SINK_ENRICH=true MILLRACE_CLIENT_ID=$name-sink \
  MILLRACE_METRICS_ADDR=$sink_metrics "$bin/millrace-sink" >"$work/sink.log" 2>&1 &
pids+=($!)

# Trades of AAPL, MSFT, BINANCE:BTCUSDT and BINANCE:ETHUSDT (no asset).
produce() {
  "$millrace" produce --kind trade --count "$1" --seed "$2" >/dev/null ||
    fail "millrace produce --kind trade --seed $2 failed"
}
stored() { [[ $(sql "SELECT count(*) FROM trades") == "$1" ]]; }
produce 400 1
waitfor "stored 400" 180
for symbol in AAPL MSFT BINANCE:BTCUSDT BINANCE:ETHUSDT; do
  (($(sql "SELECT count(*) FROM trades WHERE symbol = '$symbol'") > 0)) ||
    fail "no trade of $symbol: the generator's symbols changed?"
done
# Every known symbol's trades carry its asset as loaded, every other NULL.
mismatched=$(sql "SELECT count(*) FROM trades t LEFT JOIN assets a USING (symbol)
  WHERE (t.asset_description, t.asset_type, t.asset_currency)
        IS DISTINCT FROM (a.description, a.type, a.currency)")
((mismatched == 0)) || fail "$mismatched trades do not carry their asset"
[[ $(sql "SELECT count(*) FROM trades WHERE symbol = 'BINANCE:ETHUSDT' AND (asset_description IS NOT NULL OR asset_type IS NOT NULL OR asset_currency IS NOT NULL)") == 0 ]] ||
  fail "an unknown symbol's trades have asset columns"
[[ $(sql "SELECT DISTINCT asset_description || '|' || coalesce(asset_type, 'null') || '|' || coalesce(asset_currency, 'null') FROM trades WHERE symbol = 'BINANCE:BTCUSDT'") == "Binance BTCUSDT|null|null" ]] ||
  fail "BINANCE:BTCUSDT's trades: $(sql "SELECT DISTINCT asset_description FROM trades WHERE symbol = 'BINANCE:BTCUSDT'")"
[[ $(sql "SELECT DISTINCT asset_description || '|' || asset_type || '|' || asset_currency FROM trades WHERE symbol = 'AAPL'") == "APPLE INC|Common Stock|USD" ]] ||
  fail "AAPL's trades do not carry APPLE INC"
first_aapl=$(sql "SELECT count(*) FROM trades WHERE symbol = 'AAPL'")

# The dataset changes at the URL: the next round writes the one row, the
# feed carries it to the sink, and later trades get it.
written() {
  curl -fs "http://$sink_metrics/metrics" |
    awk '/^millrace_cache_invalidations_total\{table="assets"\}/ {n = $2} END {exit !(n >= 1)}'
}
! written || fail "the sink counted an asset change before any was made"
write_stock "APPLE INC (renamed at the source)"
waitfor "grep -q 'stock.json: 0 inserted, 1 updated' '$work/every.log'" 60
waitfor written 60
produce 400 2
waitfor "stored 800" 180
all_aapl=$(sql "SELECT count(*) FROM trades WHERE symbol = 'AAPL'")
((all_aapl > first_aapl)) || fail "the second run has no AAPL trade"
[[ $(sql "SELECT count(*) FROM trades WHERE asset_description = 'APPLE INC'") == "$first_aapl" ]] ||
  fail "trades stored before the change lost what they were given"
[[ $(sql "SELECT count(*) FROM trades WHERE asset_description = 'APPLE INC (renamed at the source)'") == $((all_aapl - first_aapl)) ]] ||
  fail "trades stored after the change do not carry it"
[[ $(sql "SELECT count(*) FROM trades WHERE symbol = 'BINANCE:ETHUSDT' AND asset_description IS NOT NULL") == 0 ]] ||
  fail "an unknown symbol's later trades have asset columns"

for log in "$work/sink.log" "$work/changefeed.log"; do
  ! grep -q ' ERROR ' "$log" || fail "$log has errors"
done
echo "asset_enrichment: trades carry their assets from the URL, unknown symbols NULL, a change at the URL reaches later trades"
