#!/usr/bin/env bash
# Runs the benchmark harness at tiny sizes (its own stack on free ports) and
# checks that the JSON report has every figure, as a positive number.
set -euo pipefail
repo=$1
out=$2
# --no-build: ctest built the tree, and other tests run its binaries while
# this one does: relinking them under their feet would fail those.
# --repeats 1: each stage once. What more runs add (every run's value, the
# median run kept, the median judged) is unit.bench-repeated's
# (tests/bench/test_repeated.py); a second run of every stage took about a
# third of this test's time, which the 2-core CI machines share with the
# tests beside it.
"$repo/bench/run" --smoke --no-build --repeats 1 --out "$out" >/dev/null
python3 - "$out/report.json" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
res = r["results"]
figures = {
    "produce": ["millrace_events_per_s", "kafka_producer_perf_per_s", "ratio", "during_pipeline_events_per_s"],
    "drain": ["millrace_sinks_events_per_s", "kafka_consumer_perf_per_s", "ratio"],
    "end_to_end": ["millrace_events_per_s", "postgres_copy_rows_per_s", "ratio", "kept_rows"],
    "latency_1500": ["p50_ms", "p99_ms", "rows"],
    "changefeed": ["changes", "millrace_changes_per_s", "pg_recvlogical_changes_per_s", "ratio",
                   "kafka_transactions"],
    "orders": ["orders", "lines", "orders_per_s", "millrace_lines_per_s", "postgres_copy_lines_per_s",
               "ratio"],
    "backfill": ["rows", "rows_published", "chunks", "seconds", "rows_per_s", "copy_rows_per_s", "ratio",
                 "ratio_p99"],
}
for stage, keys in figures.items():
    for k in keys:
        v = res[stage][k]
        assert isinstance(v, (int, float)) and v > 0, f"{stage}.{k} = {v!r}"
lat = res["latency_1500"]
# The two legs split every row's latency at the broker's append time, so
# their maxima bound the whole's (LogAppendTime has whole milliseconds).
for leg in ("to_append_ms", "append_to_row_ms"):
    assert lat[leg]["max"] >= lat[leg]["p99"] >= lat[leg]["p50"] > -1, f"latency_1500.{leg} = {lat[leg]!r}"
assert lat["to_append_ms"]["max"] + lat["append_to_row_ms"]["max"] >= lat["max_ms"] - 1, f"legs do not bound {lat!r}"
# Commit time minus transaction start, per row, is part of commit time minus
# event time: the quantiles keep that order.
t = lat["transaction_ms"]
assert lat["p50_ms"] >= t["p50"] >= 0 and lat["p99_ms"] >= t["p99"] >= t["p50"], f"transaction {t!r} vs {lat!r}"
wh = res["webhooks"]
assert wh["changes"] == wh["commit_to_webhook_ms"]["count"] == wh["receiver_round_trip_ms"]["count"] > 0, f"webhooks {wh!r}"
for leg in ("commit_to_webhook_ms", "receiver_round_trip_ms"):
    assert wh[leg]["max"] >= wh[leg]["p99"] >= wh[leg]["p50"] > 0, f"webhooks.{leg} = {wh[leg]!r}"
assert wh["ratio_p50"] > 0 and wh["ratio_p99"] > 0, f"webhooks ratios {wh!r}"
assert wh["key_order_commit_to_webhook_ms"]["count"] == wh["changes"], f"webhooks key order {wh!r}"
assert wh["commit_over_key_order_p50"] > 0 and wh["commit_over_key_order_p99"] > 0, f"webhooks {wh!r}"
# Every change and its two deliveries write WAL: its row, and the rows' two versions.
assert wh["wal_bytes"] > 3 * 100 * wh["changes"], f"webhooks WAL {wh['wal_bytes']!r} for {wh['changes']} changes"
# The consumer's batches, as the deliveries' enqueued_at tell them apart.
b = wh["batches"]
assert 0 < b["batches"] <= wh["changes"], f"webhooks batches {b!r}"
for path in ("/hook", "/hook-key"):
    assert b[path]["to_last_ms"]["p50"] >= b[path]["to_first_ms"]["p50"] > 0, f"webhooks batches {path} {b!r}"
    assert b[path]["to_first_ms"]["count"] == b["batches"], f"webhooks batches {path} {b!r}"
assert wh["service_counters"]["batch_commit_mean_ms"] > 0, f"webhooks {wh['service_counters']!r}"
# Both rates ran; each delivery's legs add up to its commit to arrival, so
# the legs' maxima bound the whole's (nginx logs whole milliseconds).
for key in ("webhooks", "webhooks_2000"):
    w = res[key]
    assert w["goal"]["ratio"] > 0 and w["goal"]["feed_p99_ms"] == w["feed_ms"]["p99"] > 0, f"{key} goal {w!r}"
    for order in ("commit_order", "key_order"):
        legs = w[order]["legs_ms"]
        assert all(legs[k]["count"] == w["changes"] for k in legs), f"{key}.{order} legs {legs!r}"
        parts = ("produced", "visible", "to_enqueue", "enqueue_to_arrival")
        assert sum(legs[k]["max"] for k in parts) >= w[order]["commit_to_webhook_ms"]["max"] - 1, \
            f"{key}.{order}: legs do not bound the whole {w[order]!r}"
    assert w["kafka_jit_cpu_seconds"] >= 0, f"{key}: Kafka's JIT share missing"
# The webhooks stage's own warm-up ran before it, at its highest rate.
hw = r["warmup"]["webhooks"]
assert hw["rate"] == 2000 and hw["seconds"] > 0 and hw["kafka_jit_cpu_seconds"] >= 0, f"warm-up {hw!r}"
assert 0 <= r["machine"]["cpu_steal_share"] < 1 and 0 <= lat["cpu_steal_share"] < 1, "steal share missing"
# Each goal has a value from its stage's run, and the table of goals is in
# the report.
runs = r["goal_runs"]
expected = {"feed", "cache", "webhooks_200", "webhooks_2000", "end_to_end", "drain", "event_to_row", "catch_up"}
assert set(runs) == expected, f"goal runs {sorted(runs)}"
assert all(len(v) == 1 and all(x > 0 for x in v) for v in runs.values()), f"goal runs {runs!r}"
# Whether each run measured its goal (its load on schedule), for every goal.
behind = r["goal_runs_behind"]
assert set(behind) == expected and all(len(v) == 1 for v in behind.values()), f"goal runs behind {behind!r}"
md = open(os.path.join(os.path.dirname(sys.argv[1]), "report.md")).read()
after = md.split("### Issue 40's goals")[1].splitlines()
first = next(i for i, l in enumerate(after) if l.startswith("| goal "))
table = after[first:first + next(i for i, l in enumerate(after[first:]) if not l.startswith("|"))]
goal_rows = table[2:]
assert len(goal_rows) == len(expected) + (res.get("cache_reads") is not None), f"the table of goals: {goal_rows!r}"
refs = res["kafka_ack_1500"]
assert [a["linger_ms"] for a in refs] == [5, 0], f"ack references {refs!r}"
for a in refs:
    l = a["from_schedule_ms"]
    assert a["sent"] > 0 and a["failed"] == 0 and l["samples"] == a["sent"], f"ack reference {a!r}"
    assert l["max"] >= l["p999"] >= l["p99"] >= l["p50"] > 0, f"ack reference latency {l!r}"
# The machine's floor was measured beside every latency stage.
probes = [("latency_1500", lat["wake_probe"])] + [(f"ack linger {a['linger_ms']}", a["wake_probe"]) for a in refs]
if res.get("http"):
    probes += [(f"http.{k}", res["http"][k]["wake_probe"]) for k in ("single_1500", "single_15000", "single_1500_noack")]
    probes.append(("http.nginx.single_1500", res["http"]["nginx"]["single_1500"]["wake_probe"]))
for name, w in probes:
    late, st = w["late_ms"], w["stalled_share"]
    assert w["seconds"] > 0 and late["samples"] > 0 and late["max"] >= late["p99"] >= late["p50"] >= 0, f"{name} probe {w!r}"
    assert 1 > st["over_1ms"] >= st["over_2ms"] >= st["over_5ms"] >= 0, f"{name} probe shares {st!r}"
    assert isinstance(w["realtime"], bool) and 0 <= w["cpu_steal_share"] < 1, f"{name} probe {w!r}"
    # None only on a kernel without pressure stall information.
    psi = os.path.exists("/proc/pressure/io")
    assert (w["io_full_share"] is not None) == psi, f"{name} probe I/O {w!r}"
    assert not psi or 0 <= w["io_full_share"] < 1, f"{name} probe I/O {w!r}"
chains = res["handoff_1500"]
assert [(c["chain"], c["wakeups_per_token"]) for c in chains] == [(1, 3), (5, 7), (8, 10)], f"hand-off chains {chains!r}"
for c in chains:
    l = c["from_schedule_ms"]
    assert l["samples"] == c["rate"] * c["seconds"] and l["max"] >= l["p99"] >= l["p50"] > 0, f"chain {c!r}"
for k in ("single_max", "ndjson_100"):
    assert "wake_probe" not in (res.get("http") or {}).get(k, {}), f"http.{k} ran the probe"
w = r["warmup"]
assert w["events"] > 0 and w["e2e_events_per_s"] > 0 and w["e2e_cpu_seconds"]["kafka"] >= 0, f"warmup {w!r}"
assert r["machine"]["cores"] > 0 and r["commands"], "machine or commands missing"
if res.get("http"):
    for k in ("single_max", "single_1500", "single_15000", "ndjson_100"):
        h = res["http"][k]
        assert h["requests"] > 0 and h["rate"] > 0 and h["events_per_s"] > 0, f"http.{k} made no requests"
        assert h["latency_ms"]["p999"] >= h["latency_ms"]["p50"] > 0, f"http.{k} latency {h['latency_ms']}"
    for k in ("single_1500", "single_15000"):
        h = res["http"][k]
        assert h["target_rate"] > 0 and h["sent"] > 0, f"http.{k} was not paced"
        assert h["scheduled_latency_ms"]["samples"] > 0, f"http.{k} has no latency from schedule"
    for k in ("single_max", "ndjson_100"):
        cpu = res["http"][k]["cpu_us_per_request"]
        assert cpu["millrace-producer"] > 0 and cpu["wrk"] > 0 and min(cpu.values()) >= 0, f"http.{k} cpu {cpu!r}"
    for k, tried in (("single_max", [256, 512, 1024]), ("ndjson_100", [32, 64, 128])):
        sweep = res["http"][k + "_sweep"]
        assert [h["connections"] for h in sweep] == tried, f"http.{k}_sweep {sweep!r}"
        assert all(h["requests"] > 0 for h in sweep), f"http.{k}_sweep made no requests"
        assert res["http"][k]["events_per_s"] == max(h["events_per_s"] for h in sweep), f"http.{k} is not the best"
        assert res["http"]["nginx"][k]["connections"] == res["http"][k]["connections"], f"nginx {k} connections"
    ngx = res["http"]["nginx"]
    assert ngx["single_max"]["cpu_us_per_request"]["nginx"] > 0, f"nginx cpu {ngx['single_max']!r}"
    for k in ("single_max", "ndjson_100", "single_1500"):
        h = ngx[k]
        assert h["requests"] > 0 and h["rate"] > 0 and h["non2xx"] == 0, f"http.nginx.{k} {h!r}"
        assert h["latency_ms"]["p99"] >= h["latency_ms"]["p50"] > 0, f"http.nginx.{k} latency {h['latency_ms']}"
    # The reference answers with the service's own response, so wrk counts
    # the events it names as accepted.
    assert ngx["ndjson_100"]["accepted_events"] == 100 * ngx["ndjson_100"]["requests"], f"nginx ndjson {ngx['ndjson_100']!r}"
    ingest = res["http"]["kafka_ingest"]
    assert ingest["sent"] > 0 and ingest["failed"] == 0 and ingest["messages_per_s"] > 0, f"kafka ingest {ingest!r}"
# Orders have one line at least each, and the drain stored every order.
assert res["orders"]["lines"] >= res["orders"]["orders"], f"orders {res['orders']!r}"
assert r["stages"] == ["warmup", "produce", "end_to_end", "enrich", "orders", "growth", "scale", "latency", "http",
                       "changefeed", "backfill", "webhooks", "cache_reads", "cache_invalidation", "archive"], f"stages {r['stages']!r}"
# The backfill read every row once (those superseded by a streamed update
# are left out), and the updates reached the consumer both before and during it.
bf = res["backfill"]
assert bf["rows_published"] + bf["rows_superseded"] == bf["rows"], f"backfill {bf!r}"
for k in ("idle_commit_to_consumer_ms", "backfill_commit_to_consumer_ms"):
    assert bf[k]["count"] > 0 and bf[k]["p99"] >= bf[k]["p50"] > 0, f"backfill.{k} = {bf[k]!r}"
# The scale curve in its smoke shape (one topic, 1 and 2 sinks), each drained to
# the end by both groups, and the CPU of every component measured.
sc = res["scale"]
assert [(s["partitions"], s["sinks"]) for s in sc] == [(4, 1), (4, 2)], f"scale {sc!r}"
for s in sc:
    assert s["events_per_s"] > 0 and s["sinks_events_per_s"] >= s["events_per_s"], f"scale {s!r}"
    assert s["aggregator_events_per_s"] >= s["events_per_s"] and s["seconds"] > 0, f"scale {s!r}"
    assert set(s["cpu_s_per_1000"]) == {"sinks", "aggregator", "postgres", "kafka"}, f"scale cpu {s!r}"
    assert all(v >= 0 for v in s["cpu_s_per_1000"].values()), f"scale cpu {s!r}"
# The growth stage: both drains stored the same kept rows, the second on top
# of the history, and measured their WAL.
gr = res["growth"]
assert gr["empty"]["kept_rows"] == gr["history"]["kept_rows"] > 0, f"growth {gr!r}"
assert gr["history"]["history_rows"] > 0 and gr["history"]["partitions"] >= 30, f"growth {gr!r}"
assert gr["ratio"] > 0 and all(gr[m]["wal_bytes_per_kept_row"] > 0 for m in ("empty", "history")), f"growth {gr!r}"
# The archive: every event in files, and both references measured.
ar = res["archive"]
assert ar["files"] > 0 and ar["file_bytes"] > 0 and ar["records_per_s"] > 0, f"archive {ar!r}"
assert ar["kafka_consumer_perf_per_s"] > 0 and ar["dd_mb_per_s"] > 0 and ar["ratio_mb"] is not None, f"archive {ar!r}"
# Enrichment: the same events drained with it off and on; on, every kept
# row carries its sku's facts as the catalog holds them (the generator's
# skus are all in the catalog); off, none carries any.
en = res["enrich"]
assert isinstance(en["ratio"], (int, float)) and en["ratio"] > 0, f"enrich ratio {en!r}"
for mode in ("on", "off"):
    e = en[mode]
    assert e["events_per_s"] > 0 and e["seconds"] >= e["first_commit_seconds"] > 0, f"enrich.{mode} {e!r}"
    assert e["cpu_seconds"]["sinks"] >= 0, f"enrich.{mode} cpu {e['cpu_seconds']!r}"
assert en["on"]["rows"] == en["off"]["rows"] == res["end_to_end"]["kept_rows"] > 0, f"enrich rows {en!r}"
assert en["on"]["rows_unlike_catalog"] == 0 and en["on"]["rows_without_name"] == 0, f"enrich.on {en['on']!r}"
assert en["on"]["enriched_rows"] == en["on"]["rows"], f"enrich.on {en['on']!r}"
assert en["off"]["rows_with_facts"] == 0 and en["off"]["enriched_rows"] == 0, f"enrich.off {en['off']!r}"
# The catalog cache: the API with its near cache, the API asking Redis
# for every read, the API without the cache and nginx under the same wrk
# runs, and the cached API and nginx again over HTTPS, every answer a 200;
# the cached runs' answers all counted as the cache's (from memory or from
# Redis), and some from memory only where the near cache is on.
cr = res["cache_reads"]
if cr is not None:
    assert cr["body_bytes"] > 0 and cr["content_type"].startswith("application/json"), f"cache_reads {cr!r}"
    for k in ("cached", "cached_redis", "uncached", "nginx", "cached_tls", "nginx_tls"):
        h = cr[k]
        assert h["requests"] > 0 and h["rate"] > 0 and h["connections"] == cr["connections"], f"cache_reads.{k} {h!r}"
        assert h["non2xx"] == 0 and set(h["statuses"]) == {"200"}, f"cache_reads.{k} statuses {h['statuses']!r}"
        assert h["latency_ms"]["p99"] >= h["latency_ms"]["p50"] > 0, f"cache_reads.{k} latency {h['latency_ms']!r}"
    for k in ("cached", "cached_redis"):
        reads = cr[k]["cache_reads"]
        n = cr[k]["requests"]
        assert n <= reads["held"] + reads["hit"] <= n + cr["connections"], f"{k}: cache reads {reads!r} for {n}"
        assert reads["miss"] == reads["bypass"] == 0, f"{k}: cache reads {reads!r}"
        assert (reads["held"] > 0) == (k == "cached"), f"{k}: near cache reads {reads!r}"
    cpu = cr["cached_redis"]["cpu_us_per_request"]
    assert cpu["millrace-api"] > 0 and cpu["redis"] > 0 and cpu["wrk"] > 0, f"cache_reads cpu {cpu!r}"
    assert cr["ratio_cached_nginx"] > 0 and cr["ratio_cached_uncached"] > 0, f"cache_reads ratios {cr!r}"
    assert cr["ratio_redis_nginx"] > 0 and cr["ratio_cached_redis"] > 0, f"cache_reads ratios {cr!r}"
    assert cr["ratio_tls_nginx_tls"] > 0 and cr["ratio_tls_plain"] > 0, f"cache_reads HTTPS ratios {cr!r}"
# Every edit paired with its record on the topic and its entry's change in
# Redis (the harness fails otherwise); an entry changes after the feed
# produced its record, so topic_to_cache's quantiles are positive.
ci = res["cache_invalidation"]
assert ci["edits"] == ci["rate"] * ci["seconds"] > 0 and 0 < ci["category_edits"] < ci["edits"], f"cache_invalidation {ci!r}"
for leg in ("commit_to_topic_ms", "commit_to_consumer_ms", "commit_to_cache_ms", "topic_to_cache_ms"):
    l = ci[leg]
    assert l["count"] == ci["edits"] and l["max"] >= l["p99"] >= l["p50"] > 0, f"cache_invalidation.{leg} = {l!r}"
assert ci["consumer_to_cache_ms"]["count"] == ci["edits"], f"cache_invalidation {ci!r}"
assert ci["ratio_p50"] > 0 and ci["ratio_p99"] > 0 and 0 <= ci["cpu_steal_share"] < 1, f"cache_invalidation {ci!r}"
print("bench smoke report OK:", sys.argv[1])
PY
