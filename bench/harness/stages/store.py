"""Stages that drain the data set into the store in other shapes: with
enrichment, on top of history, at scale. (The archive's are in archive.py.)
"""

import time

from ..common import log, ratio, wait_for
from ..cpu import CpuMeter
from ..stack import assigned_partitions, fresh_schema, load_catalog, start_service, stop, stored, workers_env
from .throughput import cli_produce_seconds, drain_run


def bench_growth(stack, data, n, history_rows, workdir):
    """The store as history grows: the same events, already in Kafka, drained
    by two sinks as the drain stage does, first into an empty store, then
    into one already holding `history_rows` rows of the last 30 days,
    generated in SQL (so today's partition, where most of the drained events
    go, holds a thirtieth of them). The ratio of the two rates is the figure;
    beside it, the sinks' CPU per event and the WAL PostgreSQL wrote per kept
    row, each way."""
    topic = "bench_growth"
    stack.create_topic(topic)
    stack.create_topic(topic + ".dlq")
    cli_produce_seconds(stack, data, topic)

    def history(schema):
        log(f"growth: {history_rows:,} rows of history into {schema}.store_events")
        t0 = time.monotonic()
        stack.psql(f"SET search_path TO {schema}; "
                   "SELECT millrace_partitions_ensure('store_events', now() - interval '30 days', now() + interval '2 days'); "
                   "INSERT INTO store_events (id, request_id, event_type, store_id, store_fqdn, store_ip, "
                   "cust_id, category, sku, price, qty, discount, gift_wrap, variant, priority_shipping, ts, "
                   "contact_me, is_return, kafka_topic, kafka_partition, kafka_offset) "
                   "SELECT gen_random_uuid(), gen_random_uuid(), "
                   "CASE WHEN g % 2 = 0 THEN 'sale_event' ELSE 'inventory_event' END, g % 500, "
                   "'store' || g % 500 || '.example.com', '10.1.2.3', g % 100000, 'category-' || g % 20, "
                   f"g % 6000, 19.99, 1 + g % 5, 25, false, 'standard', false, "
                   f"now() - interval '30 days' + g * (interval '30 days' / {history_rows}), NULL, false, "
                   f"'history', g % 4, g / 4 FROM generate_series(1, {history_rows}) g")
        return time.monotonic() - t0

    # The history first, so that the two drains run back to back, under the
    # same conditions.
    fresh_schema(stack, "bench_growth_history")
    history_seconds = history("bench_growth_history")
    out = {}
    for mode, rows in (("empty", 0), ("history", history_rows)):
        schema = f"bench_growth_{mode}"
        took = {"seconds": history_seconds if rows else None}

        def prepare(s, took=took):
            stack.vacuum()
            stack.checkpoint()
            took["wal_start"] = stack.psql("SELECT pg_current_wal_lsn()", record=False)

        log(f"growth: two sinks drain {topic} into {schema} ({rows:,} rows before)")
        if rows:
            prepare(schema)
        r = drain_run(stack, topic, n, schema, workdir, prepare=None if rows else prepare,
                      fresh=not rows)
        wal = int(stack.psql(f"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{took['wal_start']}')",
                             record=False))
        kept = int(stack.psql(f"SELECT count(*) FROM {schema}.store_events WHERE kafka_topic = '{topic}'",
                              record=False))
        r.update(history_rows=rows, kept_rows=kept, wal_bytes=wal, wal_bytes_per_kept_row=wal / max(kept, 1),
                 sink_cpu_us_per_event=r["cpu_seconds"]["sinks"] * 1e6 / n,
                 history_seconds=took.get("seconds"),
                 partitions=int(stack.psql(f"SELECT count(*) FROM {schema}.store_partitions WHERE table_name = 'store_events'", record=False)))
        out[mode] = r
        if rows:
            stack.psql(f"DROP SCHEMA {schema} CASCADE", record=False)
    out["ratio"] = ratio(out["history"]["events_per_s"], out["empty"]["events_per_s"])
    return out


def bench_enrich(stack, data, n, workdir):
    """The sinks' enrichment: the same events, already in Kafka, drained by two
    sinks twice, as the drain stage does, into schemas holding the generated
    catalog: once with enrichment off, once with it on (the catalog in each
    sink's memory, followed through a change topic nothing writes to). Then
    checks what was stored: on, every row carries its sku's name, brand and
    category as the catalog holds them; off, none does."""
    topic, changes = "bench_enrich", "bench_enrich_changes"
    for t in (topic, topic + ".dlq", changes):
        stack.create_topic(t)
    cli_produce_seconds(stack, data, topic)
    out = {}
    for mode, extra in (("off", None), ("on", {"MILLRACE_SINK_ENRICH": "true", "MILLRACE_CHANGES_TOPIC": changes})):
        schema = f"bench_enrich_{mode}"
        stack.vacuum()
        stack.checkpoint()
        log(f"enrichment {mode}: two sinks drain {topic} into {schema}")
        r = drain_run(stack, topic, n, schema, workdir, extra=extra,
                      prepare=lambda s: load_catalog(stack, s, workdir))
        counts = stack.psql(
            "SELECT count(*), count(e.product_name), "
            "count(*) FILTER (WHERE e.product_name IS NOT NULL OR e.product_brand IS NOT NULL "
            "OR e.product_category IS NOT NULL), "
            "count(*) FILTER (WHERE e.product_name IS DISTINCT FROM p.name OR e.product_brand IS DISTINCT FROM p.brand "
            "OR e.product_category IS DISTINCT FROM p.category) "
            f"FROM {schema}.store_events e LEFT JOIN {schema}.products p ON p.sku = e.sku").split("|")
        rows, named, with_facts, unlike_catalog = (int(c) for c in counts)
        r.update(rows=rows, enriched_rows=named)
        if mode == "on":
            # The generator's skus are all the catalog's, so every row is enriched.
            r["rows_unlike_catalog"] = unlike_catalog
            r["rows_without_name"] = rows - named
        else:
            r["rows_with_facts"] = with_facts
        out[mode] = r
    on, off = out["on"], out["off"]
    problems = [f"{k} = {v}" for k, v in (("on.rows_unlike_catalog", on["rows_unlike_catalog"]),
                                          ("on.rows_without_name", on["rows_without_name"]),
                                          ("off.rows_with_facts", off["rows_with_facts"])) if v]
    if not on["rows"] or on["rows"] != off["rows"]:
        problems.append(f"kept rows: {on['rows']} with enrichment, {off['rows']} without")
    if problems:
        raise SystemExit("bench: enrichment stored the wrong rows: " + "; ".join(problems))
    out["ratio"] = ratio(on["events_per_s"], off["events_per_s"])
    if on["after_first_commit_events_per_s"] and off["after_first_commit_events_per_s"]:
        out["ratio_after_first_commit"] = ratio(on["after_first_commit_events_per_s"],
                                                off["after_first_commit_events_per_s"])
    return out


# The scale curve's topics (partitions) and sinks; --smoke runs the first
# topic with the first two sink counts, which goes through every step.
SCALE_PARTITIONS = (4, 8, 16)
SCALE_SINKS = (1, 2, 4)
SMOKE_SCALE = ((4,), (1, 2))


def bench_scale(stack, data, n, workdir, shape=(SCALE_PARTITIONS, SCALE_SINKS)):
    """The scale curve: the same `n` events, already in Kafka on topics of 4,
    8 and 16 partitions, drained by 1, 2 and 4 sinks and the aggregator
    together, into a fresh schema each time. For each: events/s until both
    groups have stored every offset (and the rate once every member holds
    its partitions, without the joins), and the CPU seconds per 1,000 events
    of the sinks, the aggregator, PostgreSQL and Kafka."""
    partitions, sink_counts = shape
    out = []
    for parts in partitions:
        topic = f"bench_scale_{parts}"
        stack.create_topic(topic, partitions=parts)
        stack.create_topic(topic + ".dlq")
        cli_produce_seconds(stack, data, topic)
    for parts in partitions:
        topic = f"bench_scale_{parts}"
        for count in sink_counts:
            schema = f"bench_scale_{parts}_{count}"
            log(f"scale: {count} sink(s) and the aggregator drain {parts} partitions")
            fresh_schema(stack, schema)
            stack.vacuum()
            stack.checkpoint()
            sinks, aggregator = [], []
            meter = CpuMeter(stack, {"sinks": sinks, "aggregator": aggregator})
            t0 = time.monotonic()
            sinks += [start_service("millrace-sink", workers_env(stack, topic, schema, "sink"),
                                    f"{workdir}/{schema}-sink-{i}.log") for i in range(1, count + 1)]
            aggregator.append(start_service("millrace-aggregator", workers_env(stack, topic, schema, "agg"),
                                            f"{workdir}/{schema}-agg.log"))
            joined, ends = [], {}

            def drained():
                for p in sinks + aggregator:
                    if p.poll() is not None:
                        raise SystemExit(f"bench: a worker exited ({p.returncode}); see {workdir}/{schema}-*.log")
                if not joined and all(assigned_partitions(p) == parts // count for p in sinks) \
                        and assigned_partitions(aggregator[0]) == parts:
                    joined.append((time.monotonic(), stored(stack, schema, "sink"), stored(stack, schema, "agg")))
                for group in ("sink", "agg"):
                    if group not in ends and stored(stack, schema, group) >= n:
                        ends[group] = time.monotonic()
                return len(ends) == 2

            end = wait_for(drained, 3600, f"{count} sink(s) to drain {topic}")
            cpu = meter.stop()
            cpu.pop("reaped")
            stop(sinks + aggregator)
            steady = None
            if joined and joined[0][0] < end:
                # From when every member held its share until both groups were done.
                steady = round((2 * n - joined[0][1] - joined[0][2]) / 2 / (end - joined[0][0]))
            out.append({"partitions": parts, "sinks": count, "events_per_s": round(n / (end - t0)),
                        "sinks_events_per_s": round(n / (ends["sink"] - t0)),
                        "aggregator_events_per_s": round(n / (ends["agg"] - t0)),
                        "after_joins_events_per_s": steady, "seconds": round(end - t0, 2),
                        "cpu_s_per_1000": {k: round(v * 1000 / n, 4) for k, v in cpu.items()}})
            log(f"scale: {out[-1]['events_per_s']:,} events/s")
            stack.psql(f"SET client_min_messages TO warning; DROP SCHEMA {schema} CASCADE", record=False)
    return out

