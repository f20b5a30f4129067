"""The report: docs/benchmarks.md's page, from a run's JSON report.
"""

from ..docs import handwritten_sections
from ..stages import STAGES
from .archive import render_archive_rows, render_archive_s3
from .declared_views import render_declared_views, render_declared_views_rows
from .goals import render_goals
from .outbox import render_outbox, render_outbox_rows
from .references import percent, render_ack_reference, render_http_references, render_wake_floor
from .stage_sections import (render_backfill, render_cache, render_cache_rows, render_enrich, render_growth,
                             render_scale, render_soak, render_webhooks)
from .websocket import render_websocket, render_websocket_rows


def legs(stage, key):
    leg = stage.get(key)
    return "n/a" if not leg else f"{leg['p50']:.1f} / {leg['p99']:.1f} / {leg['max']:.1f} ms"


def render_intro(r):
    """The title, the run and its machine, the data set and the warm-up."""
    m = r["machine"]
    ran = r.get("stages", STAGES)
    lines = [
        "# Benchmarks", "",
        f"Latest run: `{r['command']}` on {r['date']}.", "",
        "What each stage and reference measures, how to run `bench/run` and how to read a ratio: "
        "[bench/README.md](../bench/README.md). The design choices these measurements settled are listed "
        "near the end, under [What the measurements decided](#what-the-measurements-decided).", "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}, {m['os']}; "
        f"{m['kafka']}; {m['postgresql']}. {m['note']}. CPU steal over the whole run (time the hypervisor "
        f"gave this virtual machine's cores to other guests): {percent(m.get('cpu_steal_share'))}.", "",
    ]
    if set(ran) != set(STAGES):
        lines += [f"Stages run: {', '.join(ran)} (`--stages`); the others were not.", ""]
    if "events" in r:
        lines += [f"Data: {r['events']:,} synthetic events (1% invalid, one day of event time), "
                  f"{r['message_bytes']} bytes per message on average, 4 partitions.", ""]
    w = r.get("warmup")
    if w:
        lines += [
            f"Warm-up, not measured: {w['events']:,} events through the whole pipeline on a topic and schema of "
            f"their own ({w['e2e_events_per_s']:,.0f} events/s; Kafka used {w['e2e_cpu_seconds']['kafka']:.1f} "
            f"CPU seconds, {w['kafka_jit_cpu_seconds']:.1f} of them in the JIT compiler of its fresh JVM), "
            f"then the latency stage below on a topic of its own (p50 {w['latency']['p50_ms']:.1f} ms, "
            f"p99 {w['latency']['p99_ms']:.1f} ms), so that what is measured is the steady state.",
            "",
        ]
    if w and "webhooks" in w:
        h = w["webhooks"]
        lines += [
            f"Warm-up of the webhooks stage, not measured: the change feed and `millrace-webhooks` at "
            f"{h['rate']:,} commits/s for {h['seconds']} s on a topic of their own, so that the broker has met "
            f"the feed's transactions and paced fetches before the stage (its JIT compiler took "
            f"{h['kafka_jit_cpu_seconds']:.1f} CPU seconds in it).",
            "",
        ]
    return lines


def render_table(res):
    """The table of every stage's figure against its reference."""
    lines = []
    lines += [
        "| stage | Millrace | reference (same run, same data) | ratio |",
        "| --- | ---: | --- | ---: |",
    ]
    if "produce" in res:
        lines.append(
            f"| produce (`millrace produce --file` alone, idempotent, acks=all) | {res['produce']['millrace_events_per_s']:,.0f} events/s | "
            f"Kafka ProducerPerformance, same payloads and producer settings: {res['produce']['kafka_producer_perf_per_s']:,.0f} records/s | {res['produce']['ratio']} |")
    if "end_to_end" in res:
        lines += [
            f"| drain (2 sink workers: validate, filter, COPY, offsets) | {res['drain']['millrace_sinks_events_per_s']:,.0f} events/s | "
            f"Kafka ConsumerPerformance on the same topic: {res['drain']['kafka_consumer_perf_per_s']:,.0f} records/s | {res['drain']['ratio']} |",
            f"| end to end (produce -> 2 sinks + aggregator -> last commit) | {res['end_to_end']['millrace_events_per_s']:,.0f} events/s "
            f"({res['end_to_end']['seconds']:.1f} s) | PostgreSQL COPY of the same events as rows into `store_events`: "
            f"{res['end_to_end']['postgres_copy_rows_per_s']:,.0f} rows/s | {res['end_to_end']['ratio']} |",
        ]
    en = res.get("enrich")
    if en:
        lines.append(
            f"| enrichment (the drain stage's 2 sinks, each kept row given its product's name, brand and category "
            f"from the catalog held in memory) | {en['on']['events_per_s']:,.0f} events/s ({en['on']['seconds']:.1f} s) | "
            f"the same sinks, same events, enrichment off: {en['off']['events_per_s']:,.0f} events/s "
            f"({en['off']['seconds']:.1f} s) | {en['ratio']} |")
    od = res.get("orders")
    if od:
        lines.append(
            f"| orders drain (2 sinks `--kind order`: each order validated against its declaration, staged and "
            f"moved with `INSERT ... ON CONFLICT` into `orders` and `order_lines` with the offsets; "
            f"{od['orders']:,} orders, {od['lines']:,} lines) | {od['millrace_lines_per_s']:,.0f} lines/s "
            f"({od['seconds']:.1f} s) | PostgreSQL COPY of the same rows into empty `orders` and `order_lines`: "
            f"{od['postgres_copy_lines_per_s']:,.0f} lines/s | {od['ratio']} |")
    lines += render_archive_rows(res)
    cf = res.get("changefeed")
    if cf:
        lines.append(
            f"| change feed (committed inserts -> `millrace-changefeed` -> Kafka transactions, catching up on "
            f"{cf['changes']:,} changes in PostgreSQL transactions of {cf['rows_per_transaction']:,}) | "
            f"{cf['millrace_changes_per_s']:,.0f} changes/s ({cf['millrace_seconds']:.1f} s, "
            f"{cf['kafka_transactions']:,.0f} Kafka transactions) | "
            f"`pg_recvlogical` reading the same WAL from a slot of its own (pgoutput, to /dev/null): "
            f"{cf['pg_recvlogical_changes_per_s']:,.0f} changes/s | {cf['ratio']} |")
        for key, what in (("debezium", "Debezium's format (`--format debezium`), schemas off"),
                          ("debezium_schemas", "Debezium's format with JsonConverter's schemas (`--schemas`)")):
            if f"{key}_changes_per_s" not in cf:
                continue
            lines.append(
                f"| change feed in {what}, the same backlog "
                f"({cf[key + '_bytes_per_change']:,.0f} bytes per change on the topic, Millrace's format "
                f"{cf['millrace_bytes_per_change']:,.0f}) | {cf[key + '_changes_per_s']:,.0f} changes/s "
                f"({cf[key + '_seconds']:.1f} s) | the same `pg_recvlogical` | {cf[key + '_ratio']} |")
    bf = res.get("backfill")
    if bf:
        lines += [
            f"| backfill (`millrace changefeed backfill` of a {bf['rows']:,}-row table, chunks of "
            f"{bf['chunk_size']:,}, while {bf['write_rate']} single-row UPDATEs/s go on) | {bf['rows_per_s']:,.0f} "
            f"rows/s ({bf['seconds']:.1f} s) | PostgreSQL `COPY (SELECT * FROM items) TO` a client discarding "
            f"them: {bf['copy_rows_per_s']:,.0f} rows/s | {bf['ratio']} |",
            f"| the updates during the backfill, commit to a read_committed consumer, p99 | "
            f"{bf['backfill_commit_to_consumer_ms']['p99']:.1f} ms | the same updates with the feed idle: "
            f"{bf['idle_commit_to_consumer_ms']['p99']:.1f} ms | {bf['ratio_p99']} |",
        ]
    for key in sorted((k for k in res if k.startswith("webhooks")), key=lambda k: res[k]["rate"]):
        wh = res[key]
        lat, feed = wh["commit_to_webhook_ms"], wh["feed_ms"]
        lines.append(
            f"| webhooks (single-row commits at {wh['rate']:,}/s -> change feed -> `millrace-webhooks` -> nginx "
            f"on this host, {wh['changes']:,} changes; commit time to arrival) | p50 {lat['p50']:.1f} ms, "
            f"p99 {lat['p99']:.1f} ms | the change feed alone in the same run, commit time to a read_committed "
            f"consumer: p50 {feed['p50']:.1f} ms, p99 {feed['p99']:.1f} ms | {wh['goal']['ratio']} (p99) |")
    lines += render_cache_rows(res)
    lines += render_websocket_rows(res)
    lines += render_declared_views_rows(res)
    lines += render_outbox_rows(res)
    lines.append("")
    return lines


def render_end_to_end_cpu(res, m):
    """Where the end-to-end stage's CPU went."""
    lines = []
    e2e = res.get("end_to_end")
    if e2e:
        during = (res.get("produce") or {}).get("during_pipeline_events_per_s")
        lines += [
            "CPU seconds spent during the end-to-end stage, per component: " +
            ", ".join(f"{k} {v:.1f}" for k, v in e2e["cpu_seconds"].items()) +
            f" (total {sum(e2e['cpu_seconds'].values()):.1f}, over {e2e['seconds']:.1f} s "
            f"on {m['cores']} cores); Kafka's JIT compiler took {e2e['kafka_jit_cpu_seconds']:.1f} s of Kafka's share." +
            (f" The CLI produced at {during:,.0f} events/s in this stage, while the "
             "workers consumed; the produce row above measures it alone, as ProducerPerformance is." if during else ""),
            "",
        ]
    return lines


def render_latency(res):
    """The latency stage's paragraph."""
    lines = []
    if "latency_1500" in res:
        lines += [
            f"Latency from event creation to its committed row at a fixed {res['latency_1500']['rate']} events/s "
            f"for {res['latency_1500']['seconds']} s ({res['latency_1500']['rows']:,} kept rows, sinks with their defaults: a batch committed as soon as nothing more is at hand): "
            f"p50 {res['latency_1500']['p50_ms']:.1f} ms, p99 {res['latency_1500']['p99_ms']:.1f} ms, max {res['latency_1500']['max_ms']:.1f} ms "
            f"(CPU steal during the stage: {percent(res['latency_1500'].get('cpu_steal_share'))}). "
            f"Split at the broker's append time (the stage's topic uses `LogAppendTime`): creation to append "
            f"{legs(res['latency_1500'], 'to_append_ms')}; append to committed row {legs(res['latency_1500'], 'append_to_row_ms')} "
            "(p50 / p99 / max). "
            "Measured in PostgreSQL as the row's commit time (`pg_xact_commit_timestamp(xmin)`; the stack runs with "
            "`track_commit_timestamp`) minus the event time the CLI set when creating the message. Of that, the sinks' "
            f"transactions took p50 {res['latency_1500']['transaction_ms']['p50']:.1f} / p99 "
            f"{res['latency_1500']['transaction_ms']['p99']:.1f} ms from their start (`ingested_at`) to their commit.",
            "",
        ]
    return lines


def render_http(res):
    """The HTTP ingest runs' table and how to read it, then their references."""
    lines = []
    http = res.get("http")
    if http:
        lines += [
            f"HTTP ingest (`millrace-producer` with {http['http_threads']} HTTP threads; wrk 4.1 with "
            "`bench/wrk/ingest.lua`, 2 threads, on the same machine). Each request is one event "
            "(`application/json`) or 100 (`application/x-ndjson`), with the default `?ack=all`, so every "
            "response waited for Kafka. Events come from 50 stores, both types, about 42% above the sink's "
            "discount threshold.", "",
            "| load | connections | target req/s | achieved req/s | events/s | latency from send p50 / p99 / p99.9 "
            "| latency from schedule p50 / p99 / p99.9 | non-2xx | socket errors |",
            "| --- | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: |",
        ]

        def ms(lat):
            return " / ".join(f"{lat[p]:.1f}" for p in ("p50", "p99", "p999")) + " ms" if lat else "n/a"

        for key, label in (("single_max", "single events, as fast as possible"),
                           ("ndjson_100", "100-event NDJSON, as fast as possible"),
                           ("single_1500", "single events at a fixed 1,500 req/s"),
                           ("single_15000", "single events at a fixed 15,000 req/s"),
                           ("single_1500_noack", "single events at a fixed 1,500 req/s, `?ack=none` (202 once queued)")):
            h = http.get(key)
            if h is None:
                continue
            sweep = http.get(key + "_sweep") or [h]
            for run_ in sweep:
                best = len(sweep) > 1 and run_["connections"] == h["connections"]
                target = f"{run_['target_rate']:,}" if run_.get("target_rate") else "-"
                rate = f"**{run_['rate']:,.0f}**" if best else f"{run_['rate']:,.0f}"
                lines.append(f"| {label} | {run_['connections']} | {target} | {rate} | {run_['events_per_s']:,.0f} | "
                             f"{ms(run_['latency_ms'])} | {ms(run_.get('scheduled_latency_ms'))} | {run_['non2xx']} | "
                             f"{run_['socket_errors']} |")
        lines += [
            "",
            "The runs as fast as possible try several connection counts: every request waits for Kafka's "
            "acknowledgement, so a fixed number of connections caps the rate at connections divided by the "
            "latency, whatever the server could do. The best of each (in bold) is the figure used below.",
            "",
            "Achieved req/s is completed requests over the run's duration; events/s counts the events the "
            "responses reported accepted by Kafka (so 0 for `?ack=none`, whose events are only queued). "
            "With the default `?ack=all` a response waits for Kafka's acknowledgement, so its latency "
            "includes librdkafka's `linger.ms` (5 ms) and the broker's; the `?ack=none` row shows what "
            "the HTTP service itself adds. *Latency from send* is wrk's own figure, from the moment a request "
            "is written. *Latency from schedule* counts from the moment the request was due on the fixed-rate "
            "schedule, so it also includes any time the request waited for a free connection, which wrk's "
            "figure hides (coordinated omission; [bench/README.md](../bench/README.md) explains the schedule). "
            "When the achieved rate is below the target, the server did not keep up and the latency from "
            "schedule grows over the run.",
            "",
        ]
        lines += render_http_references(http)
    elif "http" in res:
        lines += ["HTTP ingest: not measured (no `millrace-producer` binary or no `wrk`).", ""]
    return lines


def render(r):
    res = r["results"]
    lines = render_intro(r)
    lines += render_table(res)
    lines += render_goals(r)
    lines += render_end_to_end_cpu(res, r["machine"])
    lines += render_enrich(r)
    lines += render_growth(r)
    lines += render_scale(r)
    lines += render_soak(r)
    lines += render_latency(res)
    lines += render_http(res)
    lines += render_ack_reference(res)
    lines += render_wake_floor(res)
    lines += render_backfill(res)
    lines += render_webhooks(res)
    lines += render_cache(res)
    lines += render_archive_s3(res)
    lines += render_websocket(r)
    lines += render_declared_views(r)
    lines += render_outbox(r)
    # The issues' analyses and the design choices the measurements settled
    # are written by hand: carried over from the current page, not generated.
    lines += handwritten_sections()
    lines += ["## Commands run", "", "```"] + r["commands"] + ["```", ""]
    return "\n".join(lines)
