#!/usr/bin/env bash
# Runs the benchmark harness at tiny sizes (its own stack on free ports) and
# checks that the JSON report has every figure, as a positive number.
set -euo pipefail
repo=$1
out=$2
"$repo/bench/run" --smoke --out "$out" >/dev/null
python3 - "$out/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
res = r["results"]
figures = {
    "produce": ["millrace_events_per_s", "kafka_producer_perf_per_s", "ratio"],
    "drain": ["millrace_sinks_events_per_s", "kafka_consumer_perf_per_s", "ratio"],
    "end_to_end": ["millrace_events_per_s", "postgres_copy_rows_per_s", "ratio", "kept_rows"],
    "latency_1500": ["p50_ms", "p99_ms", "rows"],
}
for stage, keys in figures.items():
    for k in keys:
        v = res[stage][k]
        assert isinstance(v, (int, float)) and v > 0, f"{stage}.{k} = {v!r}"
assert r["machine"]["cores"] > 0 and r["commands"], "machine or commands missing"
if res.get("http"):
    for k in ("single_max", "single_1500", "single_15000", "ndjson_100"):
        assert res["http"][k]["requests"] > 0, f"http.{k} made no requests"
print("bench smoke report OK:", sys.argv[1])
PY
